//! Native layers from the trained weights of burn modules.

use burn::nn::conv::Conv2d as BurnConv2d;
use burn::nn::{BatchNorm, Linear as BurnLinear, PaddingConfig2d};

use super::{Conv2d, Depthwise3x3, Linear, batch_norm_affine};
use crate::{Error, read_f32};

impl Conv2d {
    /// The convolution of a burn layer: one group, a square kernel, equal strides, no
    /// dilation, and padding that is valid, "same" at stride 1, or equal on every side.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a layer outside those; [`Error::TensorData`] when the
    /// backend cannot hand over the weights.
    pub fn from_burn(layer: &BurnConv2d) -> Result<Self, Error> {
        let [channels_out, channels_in, kernel, kernel_w] = layer.weight.dims();
        let [stride, stride_w] = layer.stride;
        let padding = padding(&layer.padding, kernel, stride);
        let supported = layer.groups == 1
            && kernel == kernel_w
            && stride == stride_w
            && layer.dilation == [1, 1];
        let (Some(padding), true) = (padding, supported) else {
            return Err(unsupported(format!("{layer:?}")));
        };
        let bias = layer.bias.as_ref().map(|b| read_f32(b.val())).transpose()?;
        Ok(Self::from_oihw(
            &read_f32(layer.weight.val())?,
            channels_out,
            channels_in,
            kernel,
            bias.as_deref(),
            stride,
            padding,
        ))
    }

    /// The convolution followed by batch norm in inference mode (running statistics),
    /// folded into the weights and bias.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the norm's channels differ from the convolution's
    /// outputs; [`Error::TensorData`] when the backend cannot hand over the statistics.
    pub fn then_batch_norm(self, norm: &BatchNorm) -> Result<Self, Error> {
        let (scale, shift) = batch_norm_affine(
            &read_f32(norm.gamma.val())?,
            &read_f32(norm.beta.val())?,
            &read_f32(norm.running_mean.value())?,
            &read_f32(norm.running_var.value())?,
            norm.epsilon,
        );
        if scale.len() != self.channels_out {
            return Err(Error::ShapeMismatch {
                expected: format!("batch norm over {} channels", self.channels_out),
                actual: format!("{} channels", scale.len()),
            });
        }
        Ok(self.then_affine(&scale, &shift))
    }
}

impl Depthwise3x3 {
    /// The depthwise convolution of a burn layer: 3×3, one group per channel, stride 1,
    /// "same" or 1-pixel padding, no bias.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for another layer; [`Error::TensorData`] when the backend
    /// cannot hand over the weights.
    pub fn from_burn(layer: &BurnConv2d) -> Result<Self, Error> {
        let [channels, per_group, kh, kw] = layer.weight.dims();
        let supported = [per_group, kh, kw] == [1, 3, 3]
            && layer.groups == channels
            && layer.stride == [1, 1]
            && layer.dilation == [1, 1]
            && padding(&layer.padding, 3, 1) == Some(1)
            && layer.bias.is_none();
        if !supported {
            return Err(unsupported(format!("{layer:?}")));
        }
        Ok(Self::from_oihw(&read_f32(layer.weight.val())?, channels))
    }
}

impl Linear {
    /// The weights and bias of a burn linear layer.
    ///
    /// # Errors
    /// [`Error::TensorData`] when the backend cannot hand over the weights.
    pub fn from_burn(layer: &BurnLinear) -> Result<Self, Error> {
        let [inputs, outputs] = layer.weight.dims();
        let bias = layer.bias.as_ref().map(|b| read_f32(b.val())).transpose()?;
        Ok(Self::new(
            read_f32(layer.weight.val())?,
            inputs,
            outputs,
            bias,
        ))
    }
}

/// The padding on every side, when it is the same on every side.
fn padding(config: &PaddingConfig2d, kernel: usize, stride: usize) -> Option<usize> {
    match *config {
        PaddingConfig2d::Valid => Some(0),
        PaddingConfig2d::Same if stride == 1 && !kernel.is_multiple_of(2) => Some(kernel / 2),
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if [left, bottom, right] == [top; 3] =>
        {
            Some(top)
        }
        PaddingConfig2d::Same | PaddingConfig2d::Explicit(..) => None,
    }
}

fn unsupported(layer: String) -> Error {
    Error::ShapeMismatch {
        expected: "a layer the native CPU kernels cover".into(),
        actual: layer,
    }
}
