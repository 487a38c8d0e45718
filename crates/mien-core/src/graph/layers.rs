//! Descriptions of burn's layers: each appends the [`Op`]s of one layer, with its trained
//! weights, to a [`Network`]. A backbone's `describe` is these calls in the order of its
//! `forward`.

use burn::nn::activation::Activation as BurnActivation;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::transformer::TransformerEncoder;
use burn::nn::{BatchNorm, LayerNorm, Linear, PRelu, PaddingConfig2d};
use burn::tensor::Tensor;

use super::{Activation, Attention, Conv, Dense, GraphError, Network, Op, Shape, Value};
use crate::kernels::padding_pairs;
use crate::native::batch_norm_affine;
use crate::read_f32;

/// The ε of every layer norm mien builds: burn's default (burn keeps the value private).
pub const LAYER_NORM_EPSILON: f32 = 1e-5;

/// A convolution, with the batch norm that follows it folded in when `norm` is given.
/// Padding that differs between sides (TensorFlow's "same" for a strided layer, or an
/// explicit one) becomes an [`Op::Pad`] before an unpadded convolution.
///
/// # Errors
/// [`GraphError::Unsupported`] for a non-square kernel, unequal strides or dilation;
/// [`GraphError::Weights`] when the backend cannot hand over the weights.
pub fn conv(
    net: &mut Network,
    name: &str,
    layer: &Conv2d,
    norm: Option<&BatchNorm>,
    x: Value,
) -> Result<Value, GraphError> {
    let [channels_out, per_group, kernel, kernel_w] = layer.weight.dims();
    let [stride, stride_w] = layer.stride;
    let unsupported = |problem: String| GraphError::Unsupported {
        layer: name.into(),
        problem,
    };
    if kernel != kernel_w || stride != stride_w || layer.dilation != [1, 1] {
        return Err(unsupported(format!(
            "kernel {:?}, stride {:?}, dilation {:?}: only square kernels, equal strides and no dilation",
            layer.kernel_size, layer.stride, layer.dilation
        )));
    }
    let (padding, x) = match x.shape() {
        Shape::Spatial { height, width, .. } => {
            let [(top, bottom), (left, right)] = padding_pairs(
                &layer.padding,
                [height, width],
                layer.kernel_size,
                layer.stride,
            );
            if [bottom, left, right] == [top; 3] {
                (top, x)
            } else {
                let pad = Op::Pad {
                    before: [0, top, left],
                    after: [0, bottom, right],
                };
                (0, net.push(format!("{name}.pad"), pad, &[x])?)
            }
        }
        // Not a map: the convolution's node reports it.
        _ => (0, x),
    };
    let mut weight = read(name, layer.weight.val())?;
    let mut bias = match &layer.bias {
        Some(b) => read(name, b.val())?,
        None => vec![0.0; channels_out],
    };
    if let Some(norm) = norm {
        let (scale, shift) = batch_norm(name, norm)?;
        if scale.len() != channels_out {
            return Err(unsupported(format!(
                "batch norm over {} channels after {channels_out}",
                scale.len()
            )));
        }
        let taps = weight.len() / channels_out.max(1);
        for (row, s) in weight.chunks_exact_mut(taps.max(1)).zip(&scale) {
            row.iter_mut().for_each(|w| *w *= s);
        }
        for ((b, s), t) in bias.iter_mut().zip(&scale).zip(&shift) {
            *b = *b * s + t;
        }
    }
    let op = Op::Conv(Conv {
        weight,
        bias,
        channels_in: per_group * layer.groups,
        channels_out,
        kernel,
        stride,
        padding,
        groups: layer.groups,
    });
    net.push(name, op, &[x])
}

/// A convolution with batch norm folded in, then an activation.
///
/// # Errors
/// As [`conv`].
pub fn conv_activation(
    net: &mut Network,
    name: &str,
    layer: &Conv2d,
    norm: Option<&BatchNorm>,
    activation: Activation,
    x: Value,
) -> Result<Value, GraphError> {
    let y = conv(net, name, layer, norm, x)?;
    activate(net, name, activation, y)
}

/// An activation after the node `after` (named `{after}.{activation}`).
///
/// # Errors
/// Never for a value of any shape; the signature matches the other helpers.
pub fn activate(
    net: &mut Network,
    after: &str,
    activation: Activation,
    x: Value,
) -> Result<Value, GraphError> {
    let name = format!("{after}.{}", format!("{activation:?}").to_lowercase());
    net.push(name, Op::Activation(activation), &[x])
}

/// A parametric ReLU (one slope per channel, or one for all).
///
/// # Errors
/// [`GraphError::Weights`] when the backend cannot hand over the slopes;
/// [`GraphError::Shape`] when their number fits neither one per channel nor one.
pub fn prelu(net: &mut Network, name: &str, layer: &PRelu, x: Value) -> Result<Value, GraphError> {
    let op = Op::PRelu(read(name, layer.alpha.val())?);
    net.push(name, op, &[x])
}

/// A linear layer on a vector or on each token.
///
/// # Errors
/// [`GraphError::Weights`] when the backend cannot hand over the weights;
/// [`GraphError::Shape`] when the input's width is not the layer's.
pub fn dense(net: &mut Network, name: &str, layer: &Linear, x: Value) -> Result<Value, GraphError> {
    let op = Op::Dense(read_dense(name, layer)?);
    net.push(name, op, &[x])
}

/// A max pooling layer: square window, equal strides, no dilation, floor mode.
///
/// # Errors
/// [`GraphError::Unsupported`] for other settings.
pub fn max_pool(
    net: &mut Network,
    name: &str,
    layer: &MaxPool2d,
    x: Value,
) -> Result<Value, GraphError> {
    let [kernel, kernel_w] = layer.kernel_size;
    let [stride, stride_w] = layer.stride;
    let padding = equal_padding(&layer.padding, kernel, stride);
    match padding {
        Some(padding)
            if kernel == kernel_w
                && stride == stride_w
                && layer.dilation == [1, 1]
                && !layer.ceil_mode =>
        {
            let op = Op::MaxPool {
                kernel,
                stride,
                padding,
            };
            net.push(name, op, &[x])
        }
        _ => Err(GraphError::Unsupported {
            layer: name.into(),
            problem: format!(
                "kernel {:?}, stride {:?}, padding {:?}, dilation {:?}, ceil mode {}",
                layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.ceil_mode
            ),
        }),
    }
}

/// A layer norm over the last axis ([`LAYER_NORM_EPSILON`]).
///
/// # Errors
/// [`GraphError::Weights`] when the backend cannot hand over the weights.
pub fn layer_norm(
    net: &mut Network,
    name: &str,
    layer: &LayerNorm,
    x: Value,
) -> Result<Value, GraphError> {
    let gamma = read(name, layer.gamma.val())?;
    let beta = match &layer.beta {
        Some(b) => read(name, b.val())?,
        None => vec![0.0; gamma.len()],
    };
    let op = Op::LayerNorm {
        gamma,
        beta,
        epsilon: LAYER_NORM_EPSILON,
    };
    net.push(name, op, &[x])
}

/// A pre-norm Transformer encoder (burn's `TransformerEncoder` with `norm_first`, exact
/// GELU, plain softmax): per layer `x + attention(norm(x))`, then `x + mlp(norm(x))`.
///
/// # Errors
/// [`GraphError::Unsupported`] for post-norm encoders, quiet softmax or another activation;
/// [`GraphError::Weights`] when the backend cannot hand over the weights.
pub fn encoder(
    net: &mut Network,
    name: &str,
    encoder: &TransformerEncoder,
    x: Value,
) -> Result<Value, GraphError> {
    if !encoder.norm_first || encoder.quiet_softmax {
        return Err(GraphError::Unsupported {
            layer: name.into(),
            problem: "only pre-norm encoders with plain softmax".into(),
        });
    }
    let mut x = x;
    for (i, layer) in encoder.layers.iter().enumerate() {
        let at = format!("{name}.layers.{i}");
        // burn's pre-norm layer normalises with `norm_2` before attention and `norm_1`
        // before the feed-forward network.
        let normed = layer_norm(net, &format!("{at}.norm_2"), &layer.norm_2, x)?;
        let mha = &layer.mha;
        let attention = Attention {
            heads: mha.n_heads,
            query: read_dense(&format!("{at}.mha.query"), &mha.query)?,
            key: read_dense(&format!("{at}.mha.key"), &mha.key)?,
            value: read_dense(&format!("{at}.mha.value"), &mha.value)?,
            output: read_dense(&format!("{at}.mha.output"), &mha.output)?,
        };
        let mixed = net.push(
            format!("{at}.mha"),
            Op::SelfAttention(Box::new(attention)),
            &[normed],
        )?;
        x = net.push(format!("{at}.attention_residual"), Op::Add, &[x, mixed])?;
        let normed = layer_norm(net, &format!("{at}.norm_1"), &layer.norm_1, x)?;
        let activation = match &layer.pwff.activation {
            BurnActivation::Gelu(gelu) if !gelu.approximate => Activation::Gelu,
            BurnActivation::Relu(_) => Activation::Relu,
            other => {
                return Err(GraphError::Unsupported {
                    layer: format!("{at}.pwff"),
                    problem: format!("activation {other:?}"),
                });
            }
        };
        let inner_name = format!("{at}.pwff.linear_inner");
        let inner = dense(net, &inner_name, &layer.pwff.linear_inner, normed)?;
        let inner = activate(net, &inner_name, activation, inner)?;
        let outer = dense(
            net,
            &format!("{at}.pwff.linear_outer"),
            &layer.pwff.linear_outer,
            inner,
        )?;
        x = net.push(format!("{at}.mlp_residual"), Op::Add, &[x, outer])?;
    }
    Ok(x)
}

/// The values of a parameter, for a learned constant such as a position embedding.
///
/// # Errors
/// [`GraphError::Weights`] when the backend cannot hand them over.
pub fn values<const D: usize>(name: &str, tensor: Tensor<D>) -> Result<Vec<f32>, GraphError> {
    read(name, tensor)
}

fn read_dense(name: &str, layer: &Linear) -> Result<Dense, GraphError> {
    let [inputs, outputs] = layer.weight.dims();
    Ok(Dense {
        weight: read(name, layer.weight.val())?,
        bias: match &layer.bias {
            Some(b) => read(name, b.val())?,
            None => vec![0.0; outputs],
        },
        inputs,
        outputs,
    })
}

/// Batch norm at inference as a per-channel `(scale, shift)`.
fn batch_norm(name: &str, norm: &BatchNorm) -> Result<(Vec<f32>, Vec<f32>), GraphError> {
    Ok(batch_norm_affine(
        &read(name, norm.gamma.val())?,
        &read(name, norm.beta.val())?,
        &read(name, norm.running_mean.value())?,
        &read(name, norm.running_var.value())?,
        norm.epsilon,
    ))
}

fn read<const D: usize>(name: &str, tensor: Tensor<D>) -> Result<Vec<f32>, GraphError> {
    read_f32(tensor).map_err(|source| GraphError::Weights {
        layer: name.into(),
        source,
    })
}

/// The padding on every side, when it is the same on every side.
fn equal_padding(config: &PaddingConfig2d, kernel: usize, stride: usize) -> Option<usize> {
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
