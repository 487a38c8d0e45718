//! ResNet-18 (He et al., CVPR 2016) with a stem adapted to 48×48 faces ([`super::resnet`]).
//!
//! Stages of two basic blocks with 64, 128, 256, 512 channels; global pooling gives 512
//! features.
//!
//! With the defaults the backbone has 11,167,680 trainable parameters (for grayscale input),
//! as torchvision counts them for the same network.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, Relu};
use burn::prelude::*;
use mien_core::InputShape;
use mien_core::graph::layers::{activate, conv, conv_activation};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::{batch_norm_layer, batch_norm_relu_layer, conv2d_layer};

use super::resnet::{Downsample, ResNet, ResidualBlock, conv3x3};

/// The ResNet-18 backbone; see the [module docs](self).
pub type ResNet18 = ResNet<BasicBlock>;

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
        ResNet::new(self.input, c1, stages, in_channels, device)
    }
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

impl BasicBlock {
    fn new(in_channels: usize, out_channels: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv1: conv3x3(in_channels, out_channels, stride, device),
            norm1: BatchNormConfig::new(out_channels).init(device),
            conv2: conv3x3(out_channels, out_channels, 1, device),
            norm2: BatchNormConfig::new(out_channels).init(device),
            downsample: Downsample::when_needed(in_channels, out_channels, stride, device),
            activation: Relu::new(),
        }
    }
}

impl ResidualBlock for BasicBlock {
    /// `[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let identity = Downsample::shortcut(self.downsample.as_ref(), x.clone());
        let out = batch_norm_relu_layer(&self.norm1, conv2d_layer(&self.conv1, x));
        let out = batch_norm_layer(&self.norm2, conv2d_layer(&self.conv2, out));
        self.activation.forward(out + identity)
    }

    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let identity = Downsample::describe_shortcut(self.downsample.as_ref(), net, name, x)?;
        let (conv1, conv2) = (format!("{name}.conv1"), format!("{name}.conv2"));
        let out = conv_activation(
            net,
            &conv1,
            &self.conv1,
            Some(&self.norm1),
            Activation::Relu,
            x,
        )?;
        let out = conv(net, &conv2, &self.conv2, Some(&self.norm2), out)?;
        let sum = net.push(format!("{name}.residual"), Op::Add, &[out, identity])?;
        activate(net, &format!("{name}.residual"), Activation::Relu, sum)
    }
}
