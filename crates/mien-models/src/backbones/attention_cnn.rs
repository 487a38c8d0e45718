//! Attention CNN: the baseline's convolution blocks, each followed by CBAM (Woo et al., ECCV
//! 2018) — channel attention, then spatial attention — so the network can weight the
//! expressive regions (eyes, brows, mouth) of a face.
//!
//! With the defaults (48×48 grayscale, channels 32/64/128, reduction 8, 7×7 spatial kernel,
//! neck 512) the backbone has 359,301 trainable parameters (the baseline CNN plus 5,925 for the
//! three CBAM modules).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use mien_core::graph::layers::{activate, conv, dense};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::{conv2d_layer, dropout_layer};

use super::blocks::global_average;
use mien_core::{Backbone, InputShape};

use super::blocks::ConvBlock;

/// Configuration of [`AttentionCnn`].
#[derive(Config, Debug)]
pub struct AttentionCnnConfig {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Output channels of each of the three blocks.
    #[config(default = "[32, 64, 128]")]
    pub channels: [usize; 3],
    /// Channel-attention MLP reduction ratio `r` (hidden width `C / r`).
    #[config(default = 8)]
    pub reduction: usize,
    /// Kernel size of the spatial-attention convolution.
    #[config(default = 7)]
    pub spatial_kernel: usize,
    /// Width of the dense layer after pooling; this is the feature dimension.
    #[config(default = 512)]
    pub neck: usize,
    /// Dropout after each block and after the neck.
    #[config(default = 0.25)]
    pub dropout: f64,
}

impl AttentionCnnConfig {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> AttentionCnn {
        let mut in_channels = self.input.channels;
        let (blocks, attention) = self
            .channels
            .iter()
            .map(|&out| {
                let block = ConvBlock::new(in_channels, out, self.dropout, device);
                in_channels = out;
                (
                    block,
                    Cbam::new(out, self.reduction, self.spatial_kernel, device),
                )
            })
            .unzip();
        AttentionCnn {
            blocks,
            attention,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            neck: LinearConfig::new(in_channels, self.neck).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: Relu::new(),
            input: self.input,
        }
    }
}

/// Convolutional Block Attention Module: `x ← x · M_c(x)`, then `x ← x · M_s(x)`.
#[derive(Module, Debug)]
pub struct Cbam {
    /// Shared MLP of the channel attention, `C -> C / r`.
    channel_squeeze: Linear,
    /// `C / r -> C`.
    channel_excite: Linear,
    /// `[avg, max] (2 channels) -> 1` attention map.
    spatial: Conv2d,
    activation: Relu,
}

impl Cbam {
    fn new(channels: usize, reduction: usize, kernel: usize, device: &Device) -> Self {
        let hidden = (channels / reduction.max(1)).max(1);
        Self {
            channel_squeeze: LinearConfig::new(channels, hidden).init(device),
            channel_excite: LinearConfig::new(hidden, channels).init(device),
            spatial: Conv2dConfig::new([2, 1], [kernel, kernel])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            activation: Relu::new(),
        }
    }

    /// `[N, C, H, W] -> [N, C, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, c, _, _] = x.dims();
        // Channel attention from average- and max-pooled descriptors through one MLP.
        let mlp = |d: Tensor<2>| {
            self.channel_excite
                .forward(self.activation.forward(self.channel_squeeze.forward(d)))
        };
        let avg = x.clone().mean_dim(3).mean_dim(2).reshape([n, c]);
        let max = x.clone().max_dim(3).max_dim(2).reshape([n, c]);
        let channel = sigmoid(mlp(avg) + mlp(max)).reshape([n, c, 1, 1]);
        let x = x * channel;
        // Spatial attention from the channel-wise mean and max maps.
        let maps = Tensor::cat(vec![x.clone().mean_dim(1), x.clone().max_dim(1)], 1); // [N, 2, H, W]
        let spatial = sigmoid(conv2d_layer(&self.spatial, maps)); // [N, 1, H, W]
        x * spatial
    }

    /// Appends [`Cbam::forward`] to `net` under `name`.
    pub fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let squeeze = format!("{name}.channel_squeeze");
        let excite = format!("{name}.channel_excite");
        let mlp = |net: &mut Network, pooled: Value, from: &str| {
            let hidden = dense(
                net,
                &format!("{squeeze}.{from}"),
                &self.channel_squeeze,
                pooled,
            )?;
            let hidden = activate(net, &format!("{squeeze}.{from}"), Activation::Relu, hidden)?;
            dense(
                net,
                &format!("{excite}.{from}"),
                &self.channel_excite,
                hidden,
            )
        };
        let avg = global_average(net, &format!("{name}.avg"), x)?;
        let avg = mlp(net, avg, "avg")?;
        let max = net.push(format!("{name}.max.pool"), Op::GlobalMaxPool, &[x])?;
        let max = net.push(format!("{name}.max.flatten"), Op::Squeeze, &[max])?;
        let max = mlp(net, max, "max")?;
        let sum = net.push(format!("{name}.channel"), Op::Add, &[avg, max])?;
        let gate = activate(net, &format!("{name}.channel"), Activation::Sigmoid, sum)?;
        let gate = net.push(format!("{name}.channel.unsqueeze"), Op::Unsqueeze, &[gate])?;
        let x = net.push(format!("{name}.channel.gate"), Op::Mul, &[x, gate])?;
        let mean = net.push(format!("{name}.spatial.mean"), Op::ChannelMean, &[x])?;
        let max = net.push(format!("{name}.spatial.max"), Op::ChannelMax, &[x])?;
        let maps = net.push(format!("{name}.spatial.maps"), Op::Concat, &[mean, max])?;
        let spatial_name = format!("{name}.spatial");
        let gate = conv(net, &spatial_name, &self.spatial, None, maps)?;
        let gate = activate(net, &spatial_name, Activation::Sigmoid, gate)?;
        net.push(format!("{name}.spatial.gate"), Op::Mul, &[x, gate])
    }
}

/// The attention CNN backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct AttentionCnn {
    blocks: Vec<ConvBlock>,
    attention: Vec<Cbam>,
    pool: AdaptiveAvgPool2d,
    neck: Linear,
    dropout: Dropout,
    activation: Relu,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for AttentionCnn {
    /// `[N, C, H, W] -> [N, neck]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self
            .blocks
            .iter()
            .zip(&self.attention)
            .fold(images, |x, (block, cbam)| cbam.forward(block.forward(x)));
        let x = self.pool.forward(x).flatten::<2>(1, 3);
        let x = self.activation.forward(self.neck.forward(x));
        dropout_layer(&self.dropout, x)
    }

    fn feature_dim(&self) -> usize {
        self.neck.weight.dims()[1]
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let mut x = image;
        for (i, (block, cbam)) in self.blocks.iter().zip(&self.attention).enumerate() {
            x = block.describe(net, &format!("blocks.{i}"), x)?;
            x = cbam.describe(net, &format!("attention.{i}"), x)?;
        }
        let x = global_average(net, "neck_input", x)?;
        let x = dense(net, "neck", &self.neck, x)?;
        activate(net, "neck", Activation::Relu, x)
    }
}
