//! EfficientNet-B0 (Tan & Le, ICML 2019) with a stem adapted to 48×48 faces.
//!
//! Seven stages of mobile inverted bottlenecks (MBConv: 1×1 expansion, depthwise k×k
//! convolution, squeeze-and-excitation, 1×1 projection, identity shortcut when the shape is
//! kept), SiLU activations, and a 1×1 convolution to 1,280 features before global pooling —
//! torchvision's `efficientnet_b0` layer for layer. As for ResNet-18, the stem convolution
//! has stride 1 instead of 2, so the stages see 48, 48, 24, 12, 6, 6 and 3 pixels instead of a
//! 48×48 face shrinking to 2×2. Stochastic depth is left out (torchvision drops whole
//! blocks with probability up to 0.2 while training); the head's dropout regularises.
//!
//! With the defaults the backbone has 4,006,972 trainable parameters (for grayscale input).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, silu};
use mien_core::graph::layers::{activate, conv, conv_activation};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::{batch_norm_layer, conv2d_layer};

use super::blocks::global_average;
use mien_core::{Backbone, InputShape};

/// One stage of EfficientNet-B0: how its blocks expand, their kernel, the first block's
/// stride, output channels and block count.
struct Stage {
    expand: usize,
    kernel: usize,
    stride: usize,
    channels: usize,
    blocks: usize,
}

/// EfficientNet-B0's stages (the paper's Table 1, rows 2–8).
const STAGES: [Stage; 7] = [
    Stage {
        expand: 1,
        kernel: 3,
        stride: 1,
        channels: 16,
        blocks: 1,
    },
    Stage {
        expand: 6,
        kernel: 3,
        stride: 2,
        channels: 24,
        blocks: 2,
    },
    Stage {
        expand: 6,
        kernel: 5,
        stride: 2,
        channels: 40,
        blocks: 2,
    },
    Stage {
        expand: 6,
        kernel: 3,
        stride: 2,
        channels: 80,
        blocks: 3,
    },
    Stage {
        expand: 6,
        kernel: 5,
        stride: 1,
        channels: 112,
        blocks: 3,
    },
    Stage {
        expand: 6,
        kernel: 5,
        stride: 2,
        channels: 192,
        blocks: 4,
    },
    Stage {
        expand: 6,
        kernel: 3,
        stride: 1,
        channels: 320,
        blocks: 1,
    },
];

/// Channels of the stem.
const STEM_CHANNELS: usize = 32;

/// Configuration of [`EfficientNetB0`].
#[derive(Config, Debug)]
pub struct EfficientNetB0Config {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Features after the last 1×1 convolution (1,280 in the paper).
    #[config(default = 1280)]
    pub feature_dim: usize,
}

impl EfficientNetB0Config {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> EfficientNetB0 {
        let mut in_channels = STEM_CHANNELS;
        let blocks = STAGES
            .iter()
            .flat_map(|stage| (0..stage.blocks).map(move |i| (stage, i)))
            .map(|(stage, i)| {
                let stride = if i == 0 { stage.stride } else { 1 };
                let block = MbConv::new(in_channels, stage, stride, device);
                in_channels = stage.channels;
                block
            })
            .collect();
        EfficientNetB0 {
            stem: ConvBn::new(self.input.channels, STEM_CHANNELS, 3, 1, 1, device),
            blocks,
            top: ConvBn::new(in_channels, self.feature_dim, 1, 1, 1, device),
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            feature_dim: self.feature_dim,
            input: self.input,
        }
    }
}

/// A bias-free convolution and its batch norm (torchvision's `Conv2dNormActivation`; the
/// activation is the caller's).
#[derive(Module, Debug)]
pub struct ConvBn {
    conv: Conv2d,
    norm: BatchNorm,
}

impl ConvBn {
    fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        device: &Device,
    ) -> Self {
        let pad = (kernel - 1) / 2;
        Self {
            conv: Conv2dConfig::new([in_channels, out_channels], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_groups(groups)
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(out_channels).init(device),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]`, normalised, no activation.
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        batch_norm_layer(&self.norm, conv2d_layer(&self.conv, x))
    }

    /// As [`ConvBn::forward`], then SiLU.
    fn forward_silu(&self, x: Tensor<4>) -> Tensor<4> {
        silu(self.forward(x))
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        conv(net, name, &self.conv, Some(&self.norm), x)
    }

    fn describe_silu(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        conv_activation(net, name, &self.conv, Some(&self.norm), Activation::Silu, x)
    }
}

/// Squeeze-and-excitation: channel weights from the globally pooled map through a
/// bottleneck of 1×1 convolutions (SiLU, then sigmoid).
#[derive(Module, Debug)]
pub struct SqueezeExcitation {
    pool: AdaptiveAvgPool2d,
    reduce: Conv2d,
    expand: Conv2d,
}

impl SqueezeExcitation {
    fn new(channels: usize, squeezed: usize, device: &Device) -> Self {
        Self {
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            reduce: Conv2dConfig::new([channels, squeezed], [1, 1]).init(device),
            expand: Conv2dConfig::new([squeezed, channels], [1, 1]).init(device),
        }
    }

    /// `[N, C, H, W] -> [N, C, H, W]`, each channel scaled by its weight in (0, 1).
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let weights = silu(self.reduce.forward(self.pool.forward(x.clone())));
        x * sigmoid(self.expand.forward(weights))
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let pooled = net.push(format!("{name}.pool"), Op::GlobalAveragePool, &[x])?;
        let reduce = format!("{name}.reduce");
        let weights = conv(net, &reduce, &self.reduce, None, pooled)?;
        let weights = activate(net, &reduce, Activation::Silu, weights)?;
        let expand = format!("{name}.expand");
        let gate = conv(net, &expand, &self.expand, None, weights)?;
        let gate = activate(net, &expand, Activation::Sigmoid, gate)?;
        net.push(format!("{name}.gate"), Op::Mul, &[x, gate])
    }
}

/// A mobile inverted bottleneck: expand (unless the ratio is 1), depthwise, excite,
/// project; with an identity shortcut when stride 1 keeps the channel count.
#[derive(Module, Debug)]
pub struct MbConv {
    expand: Option<ConvBn>,
    depthwise: ConvBn,
    excitation: SqueezeExcitation,
    project: ConvBn,
    #[module(skip)]
    residual: bool,
}

impl MbConv {
    fn new(in_channels: usize, stage: &Stage, stride: usize, device: &Device) -> Self {
        let expanded = in_channels * stage.expand;
        Self {
            expand: (stage.expand != 1)
                .then(|| ConvBn::new(in_channels, expanded, 1, 1, 1, device)),
            depthwise: ConvBn::new(expanded, expanded, stage.kernel, stride, expanded, device),
            excitation: SqueezeExcitation::new(expanded, (in_channels / 4).max(1), device),
            project: ConvBn::new(expanded, stage.channels, 1, 1, 1, device),
            residual: stride == 1 && in_channels == stage.channels,
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut out = match &self.expand {
            Some(expand) => expand.forward_silu(x.clone()),
            None => x.clone(),
        };
        out = self.depthwise.forward_silu(out);
        out = self.excitation.forward(out);
        out = self.project.forward(out);
        if self.residual { out + x } else { out }
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let mut out = match &self.expand {
            Some(expand) => expand.describe_silu(net, &format!("{name}.expand"), x)?,
            None => x,
        };
        out = self
            .depthwise
            .describe_silu(net, &format!("{name}.depthwise"), out)?;
        out = self
            .excitation
            .describe(net, &format!("{name}.excitation"), out)?;
        out = self
            .project
            .describe(net, &format!("{name}.project"), out)?;
        if self.residual {
            out = net.push(format!("{name}.residual"), Op::Add, &[out, x])?;
        }
        Ok(out)
    }
}

/// The EfficientNet-B0 backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct EfficientNetB0 {
    stem: ConvBn,
    blocks: Vec<MbConv>,
    top: ConvBn,
    pool: AdaptiveAvgPool2d,
    #[module(skip)]
    feature_dim: usize,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for EfficientNetB0 {
    /// `[N, C, H, W] -> [N, 1280]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.stem.forward_silu(images);
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        let x = self.top.forward_silu(x);
        self.pool.forward(x).flatten::<2>(1, 3)
    }

    fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let x = self.stem.describe_silu(net, "stem", image)?;
        let x = self
            .blocks
            .iter()
            .enumerate()
            .try_fold(x, |x, (i, block)| {
                block.describe(net, &format!("blocks.{i}"), x)
            })?;
        let x = self.top.describe_silu(net, "top", x)?;
        global_average(net, "top", x)
    }
}
