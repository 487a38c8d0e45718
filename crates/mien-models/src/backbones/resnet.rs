//! What ResNet-18 and ResNet-50 share: the stem adapted to 48×48 faces, the projection
//! shortcut, and the network around the residual blocks.
//!
//! ImageNet's stem (7×7 stride-2 convolution and max pooling) would shrink a 48×48 face to
//! 12×12 before the first residual stage; like the CIFAR variants, this one uses a single 3×3
//! stride-1 convolution, so the four stages see 48, 24, 12 and 6 pixels.

use burn::module::ModuleDisplay;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use mien_core::graph::layers::{conv, conv_activation};
use mien_core::graph::{Activation, GraphError, Network, Value};
use mien_core::kernels::{batch_norm_layer, batch_norm_relu_layer, conv2d_layer};

use super::blocks::global_average;
use mien_core::{Backbone, InputShape};

/// A residual block: the unit a ResNet's stages repeat.
pub trait ResidualBlock: Module + ModuleDisplay {
    /// `[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4>;

    /// Appends [`ResidualBlock::forward`] to `net` under `name`.
    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError>;
}

/// A bias-free 3×3 convolution with padding 1.
pub(crate) fn conv3x3(
    in_channels: usize,
    out_channels: usize,
    stride: usize,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new([in_channels, out_channels], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(device)
}

/// The projection shortcut of a block that changes resolution or width: 1×1 conv + BN.
#[derive(Module, Debug)]
pub struct Downsample {
    conv: Conv2d,
    norm: BatchNorm,
}

impl Downsample {
    /// The shortcut a block from `in_channels` to `out_channels` at `stride` needs, if any.
    pub(crate) fn when_needed(
        in_channels: usize,
        out_channels: usize,
        stride: usize,
        device: &Device,
    ) -> Option<Self> {
        (stride != 1 || in_channels != out_channels).then(|| Downsample {
            conv: Conv2dConfig::new([in_channels, out_channels], [1, 1])
                .with_stride([stride, stride])
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(out_channels).init(device),
        })
    }

    /// The shortcut of `x`, or `x` itself without a projection.
    pub(crate) fn shortcut(projection: Option<&Self>, x: Tensor<4>) -> Tensor<4> {
        match projection {
            Some(d) => batch_norm_layer(&d.norm, conv2d_layer(&d.conv, x)),
            None => x,
        }
    }

    /// Appends [`Downsample::shortcut`] to `net` under `name`.
    pub(crate) fn describe_shortcut(
        projection: Option<&Self>,
        net: &mut Network,
        name: &str,
        x: Value,
    ) -> Result<Value, GraphError> {
        match projection {
            Some(d) => conv(
                net,
                &format!("{name}.downsample"),
                &d.conv,
                Some(&d.norm),
                x,
            ),
            None => Ok(x),
        }
    }
}

/// A ResNet over blocks `B`: the stem, the stages, global average pooling.
#[derive(Module, Debug)]
pub struct ResNet<B: ResidualBlock> {
    stem: Conv2d,
    stem_norm: BatchNorm,
    stages: Vec<Vec<B>>,
    pool: AdaptiveAvgPool2d,
    #[module(skip)]
    feature_dim: usize,
    #[module(skip)]
    input: InputShape,
}

impl<B: ResidualBlock> ResNet<B> {
    /// The network for `input` with a stem of `stem_channels` and `stages` whose last block
    /// puts out `feature_dim` channels.
    pub(crate) fn new(
        input: InputShape,
        stem_channels: usize,
        stages: Vec<Vec<B>>,
        feature_dim: usize,
        device: &Device,
    ) -> Self {
        Self {
            stem: conv3x3(input.channels, stem_channels, 1, device),
            stem_norm: BatchNormConfig::new(stem_channels).init(device),
            stages,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            feature_dim,
            input,
        }
    }
}

impl<B: ResidualBlock> Backbone for ResNet<B> {
    /// `[N, C, H, W] -> [N, feature_dim]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = batch_norm_relu_layer(&self.stem_norm, conv2d_layer(&self.stem, images));
        let x = self
            .stages
            .iter()
            .flatten()
            .fold(x, |x, block| block.forward(x));
        self.pool.forward(x).flatten::<2>(1, 3)
    }

    fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let relu = Activation::Relu;
        let x = conv_activation(net, "stem", &self.stem, Some(&self.stem_norm), relu, image)?;
        let mut x = x;
        for (s, stage) in self.stages.iter().enumerate() {
            for (b, block) in stage.iter().enumerate() {
                x = block.describe(net, &format!("stages.{s}.{b}"), x)?;
            }
        }
        global_average(net, "top", x)
    }
}
