//! ResNet-50 (He et al., CVPR 2016) with the stem ResNet-18 uses for 48×48 faces.
//!
//! Bottleneck blocks (1×1 reduce, 3×3 with the stage's stride, 1×1 expand by 4; torchvision's
//! "v1.5" placement of the stride) in stages of 3, 4, 6 and 3, widths 64, 128, 256 and 512;
//! global pooling gives 2,048 features. The stem is ResNet-18's ([`super::resnet`]): one 3×3
//! stride-1 convolution and no max pooling, so the stages see 48, 24, 12 and 6 pixels.
//!
//! With the defaults the backbone has 23,499,200 trainable parameters (for grayscale input).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Relu};
use burn::prelude::*;
use mien_core::InputShape;
use mien_core::graph::layers::{activate, conv, conv_activation};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::{batch_norm_layer, batch_norm_relu_layer, conv2d_layer};

use super::resnet::{Downsample, ResNet, ResidualBlock, conv3x3};

/// The ResNet-50 backbone; see the [module docs](self).
pub type ResNet50 = ResNet<Bottleneck>;

/// Output channels of a bottleneck are its width times this.
const EXPANSION: usize = 4;

/// Configuration of [`ResNet50`].
#[derive(Config, Debug)]
pub struct ResNet50Config {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Bottleneck widths of the four stages; each stage outputs 4× its width.
    #[config(default = "[64, 128, 256, 512]")]
    pub stage_widths: [usize; 4],
    /// Blocks in each stage.
    #[config(default = "[3, 4, 6, 3]")]
    pub stage_blocks: [usize; 4],
}

impl ResNet50Config {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> ResNet50 {
        let stem_channels = self.stage_widths[0];
        let mut in_channels = stem_channels;
        let stages = self
            .stage_widths
            .iter()
            .zip(self.stage_blocks)
            .enumerate()
            .map(|(i, (&width, blocks))| {
                (0..blocks)
                    .map(|b| {
                        let stride = if i > 0 && b == 0 { 2 } else { 1 };
                        let block = Bottleneck::new(in_channels, width, stride, device);
                        in_channels = width * EXPANSION;
                        block
                    })
                    .collect()
            })
            .collect();
        ResNet::new(self.input, stem_channels, stages, in_channels, device)
    }
}

fn conv1x1(in_channels: usize, out_channels: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([in_channels, out_channels], [1, 1])
        .with_bias(false)
        .init(device)
}

/// 1×1 reduce to `width`, 3×3 at the stride, 1×1 expand to `4 × width`, each with batch
/// norm; an identity (or projected) shortcut.
#[derive(Module, Debug)]
pub struct Bottleneck {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    conv3: Conv2d,
    norm3: BatchNorm,
    downsample: Option<Downsample>,
    activation: Relu,
}

impl Bottleneck {
    fn new(in_channels: usize, width: usize, stride: usize, device: &Device) -> Self {
        let out_channels = width * EXPANSION;
        Self {
            conv1: conv1x1(in_channels, width, device),
            norm1: BatchNormConfig::new(width).init(device),
            conv2: conv3x3(width, width, stride, device),
            norm2: BatchNormConfig::new(width).init(device),
            conv3: conv1x1(width, out_channels, device),
            norm3: BatchNormConfig::new(out_channels).init(device),
            downsample: Downsample::when_needed(in_channels, out_channels, stride, device),
            activation: Relu::new(),
        }
    }
}

impl ResidualBlock for Bottleneck {
    /// `[N, C_in, H, W] -> [N, 4 × width, H / stride, W / stride]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = Downsample::shortcut(self.downsample.as_ref(), x.clone());
        let out = batch_norm_relu_layer(&self.norm1, conv2d_layer(&self.conv1, x));
        let out = batch_norm_relu_layer(&self.norm2, conv2d_layer(&self.conv2, out));
        let out = batch_norm_layer(&self.norm3, conv2d_layer(&self.conv3, out));
        self.activation.forward(out + identity)
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let identity = Downsample::describe_shortcut(self.downsample.as_ref(), net, name, x)?;
        let relu = Activation::Relu;
        let [conv1, conv2, conv3] = ["conv1", "conv2", "conv3"].map(|c| format!("{name}.{c}"));
        let out = conv_activation(net, &conv1, &self.conv1, Some(&self.norm1), relu, x)?;
        let out = conv_activation(net, &conv2, &self.conv2, Some(&self.norm2), relu, out)?;
        let out = conv(net, &conv3, &self.conv3, Some(&self.norm3), out)?;
        let sum = net.push(format!("{name}.residual"), Op::Add, &[out, identity])?;
        activate(net, &format!("{name}.residual"), relu, sum)
    }
}
