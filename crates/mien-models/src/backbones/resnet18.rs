//! ResNet-18 (He et al., CVPR 2016) with a stem adapted to 48×48 faces.
//!
//! ImageNet's stem (7×7 stride-2 convolution and max pooling) would shrink a 48×48 face to
//! 12×12 before the first residual stage; like the CIFAR variants, this one uses a single 3×3
//! stride-1 convolution, so the four stages see 48, 24, 12 and 6 pixels. Stages of two basic
//! blocks with 64, 128, 256, 512 channels; global pooling gives 512 features.
//!
//! With the defaults the backbone has 11,167,680 trainable parameters (for grayscale input),
//! as torchvision counts them for the same network.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use mien_core::kernels::{batch_norm_layer, batch_norm_relu_layer, conv2d_layer};
use mien_core::{Backbone, InputShape};

/// Configuration of [`ResNet18`].
#[derive(Config, Debug)]
pub struct ResNet18Config {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Channels of the four stages; the last is the feature dimension.
    #[config(default = "[64, 128, 256, 512]")]
    pub stage_channels: [usize; 4],
}

impl ResNet18Config {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> ResNet18 {
        let [c1, ..] = self.stage_channels;
        let mut in_channels = c1;
        let stages = self
            .stage_channels
            .iter()
            .enumerate()
            .map(|(i, &out)| {
                let stride = if i == 0 { 1 } else { 2 };
                let first = BasicBlock::new(in_channels, out, stride, device);
                in_channels = out;
                vec![first, BasicBlock::new(out, out, 1, device)]
            })
            .collect();
        ResNet18 {
            stem: conv3x3(self.input.channels, c1, 1, device),
            stem_norm: BatchNormConfig::new(c1).init(device),
            stages,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            activation: Relu::new(),
            feature_dim: in_channels,
            input: self.input,
        }
    }
}

/// A bias-free 3×3 convolution with padding 1 (shared with ResNet-50).
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

/// Two 3×3 convolutions with batch norm and an identity (or projected) shortcut.
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    downsample: Option<Downsample>,
    activation: Relu,
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
    pub(crate) fn shortcut(projection: &Option<Self>, x: Tensor<4>) -> Tensor<4> {
        match projection {
            Some(d) => batch_norm_layer(&d.norm, conv2d_layer(&d.conv, x)),
            None => x,
        }
    }
}

impl BasicBlock {
    fn new(in_channels: usize, out_channels: usize, stride: usize, device: &Device) -> Self {
        let downsample = Downsample::when_needed(in_channels, out_channels, stride, device);
        Self {
            conv1: conv3x3(in_channels, out_channels, stride, device),
            norm1: BatchNormConfig::new(out_channels).init(device),
            conv2: conv3x3(out_channels, out_channels, 1, device),
            norm2: BatchNormConfig::new(out_channels).init(device),
            downsample,
            activation: Relu::new(),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = Downsample::shortcut(&self.downsample, x.clone());
        let out = batch_norm_relu_layer(&self.norm1, conv2d_layer(&self.conv1, x));
        let out = batch_norm_layer(&self.norm2, conv2d_layer(&self.conv2, out));
        self.activation.forward(out + identity)
    }
}

/// The ResNet-18 backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct ResNet18 {
    stem: Conv2d,
    stem_norm: BatchNorm,
    stages: Vec<Vec<BasicBlock>>,
    pool: AdaptiveAvgPool2d,
    activation: Relu,
    #[module(skip)]
    feature_dim: usize,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for ResNet18 {
    /// `[N, C, H, W] -> [N, 512]`
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
}
