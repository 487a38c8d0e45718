//! Multi-scale fusion: the face seen at three resolutions — half, native and double (24, 48
//! and 96 px for FER2013) — by three convolution branches whose pooled features are
//! concatenated and fused by a dense layer. Coarse scales see the face's overall shape,
//! fine scales the texture of wrinkles around the eyes and mouth.
//!
//! Each branch: convolution blocks with 32 and 64 channels, then global pooling. With the
//! defaults (48×48 grayscale, fused width 256) the backbone has 245,536 trainable
//! parameters.

use burn::nn::interpolate::{Interpolate2d, Interpolate2dConfig, InterpolateMode};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;
use mien_core::graph::layers::{activate, dense};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::dropout_layer;
use mien_core::{Backbone, InputShape};

use super::blocks::ConvStack;

/// Configuration of [`MultiScale`].
#[derive(Config, Debug)]
pub struct MultiScaleConfig {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Resolutions relative to the input at which the face is processed.
    #[config(default = "vec![0.5, 1.0, 2.0]")]
    pub scales: Vec<f32>,
    /// Channels of each branch's convolution blocks.
    #[config(default = "vec![32, 64]")]
    pub branch_channels: Vec<usize>,
    /// Width of the fusion layer; this is the feature dimension.
    #[config(default = 256)]
    pub fused: usize,
    /// Dropout in the branches and after fusion.
    #[config(default = 0.25)]
    pub dropout: f64,
}

impl MultiScaleConfig {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> MultiScale {
        let branches: Vec<ConvStack> = self
            .scales
            .iter()
            .map(|_| {
                ConvStack::new(
                    self.input.channels,
                    &self.branch_channels,
                    self.dropout,
                    device,
                )
            })
            .collect();
        let resize = self
            .scales
            .iter()
            .map(|&s| {
                let size = |side: usize| ((side as f32 * s).round() as usize).max(1);
                Interpolate2dConfig::new()
                    .with_output_size(Some([size(self.input.height), size(self.input.width)]))
                    .with_mode(InterpolateMode::Linear)
                    .init()
            })
            .collect();
        let concatenated: usize = branches.iter().map(ConvStack::out_channels).sum();
        MultiScale {
            branches,
            resize,
            fuse: LinearConfig::new(concatenated, self.fused).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: Relu::new(),
            input: self.input,
        }
    }
}

/// The multi-scale fusion backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct MultiScale {
    branches: Vec<ConvStack>,
    resize: Vec<Interpolate2d>,
    fuse: Linear,
    dropout: Dropout,
    activation: Relu,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for MultiScale {
    /// `[N, C, H, W] -> [N, fused]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let pooled = self
            .branches
            .iter()
            .zip(&self.resize)
            .map(|(branch, resize)| branch.forward_pooled(resize.forward(images.clone())))
            .collect();
        let x = Tensor::cat(pooled, 1); // [N, scales × C_branch]
        let x = self.activation.forward(self.fuse.forward(x));
        dropout_layer(&self.dropout, x)
    }

    fn feature_dim(&self) -> usize {
        self.fuse.weight.dims()[1]
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let mut pooled = Vec::with_capacity(self.branches.len());
        for (i, (branch, resize)) in self.branches.iter().zip(&self.resize).enumerate() {
            let name = format!("resize.{i}");
            let Some([height, width]) = resize.output_size else {
                return Err(GraphError::Unsupported {
                    layer: name,
                    problem: "a resize by scale factor, not to a size".into(),
                });
            };
            if !resize.align_corners {
                return Err(GraphError::Unsupported {
                    layer: name,
                    problem: "half-pixel resizing".into(),
                });
            }
            let scaled = net.push(name, Op::Resize { height, width }, &[image])?;
            pooled.push(branch.describe_pooled(net, &format!("branches.{i}"), scaled)?);
        }
        let x = net.push("concat", Op::Concat, &pooled)?;
        let x = dense(net, "fuse", &self.fuse, x)?;
        activate(net, "fuse", Activation::Relu, x)
    }
}
