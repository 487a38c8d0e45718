//! Building blocks shared by several backbones.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, PaddingConfig2d};
use burn::prelude::*;
use mien_core::graph::layers::{conv_activation, max_pool};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::{batch_norm_relu_layer, conv2d_layer, dropout_layer, max_pool2d_layer};

/// Two 3×3 convolutions with batch norm and ReLU, then 2×2 max pooling and dropout.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    pool: MaxPool2d,
    dropout: Dropout,
}

impl ConvBlock {
    /// A block from `in_channels` to `out_channels`, with `dropout` after pooling.
    pub fn new(in_channels: usize, out_channels: usize, dropout: f64, device: &Device) -> Self {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device)
        };
        Self {
            conv1: conv(in_channels, out_channels),
            norm1: BatchNormConfig::new(out_channels).init(device),
            conv2: conv(out_channels, out_channels),
            norm2: BatchNormConfig::new(out_channels).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.conv2.weight.dims()[0]
    }

    /// `[N, C_in, H, W] -> [N, C_out, H / 2, W / 2]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = batch_norm_relu_layer(&self.norm1, conv2d_layer(&self.conv1, x));
        let x = batch_norm_relu_layer(&self.norm2, conv2d_layer(&self.conv2, x));
        dropout_layer(&self.dropout, max_pool2d_layer(&self.pool, x))
    }

    /// Appends the block's inference pass (dropout is the identity) to `net` under `name`.
    pub fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let relu = Activation::Relu;
        let x = conv_activation(
            net,
            &format!("{name}.conv1"),
            &self.conv1,
            Some(&self.norm1),
            relu,
            x,
        )?;
        let x = conv_activation(
            net,
            &format!("{name}.conv2"),
            &self.conv2,
            Some(&self.norm2),
            relu,
            x,
        )?;
        max_pool(net, &format!("{name}.pool"), &self.pool, x)
    }
}

/// Convolution blocks in sequence, each halving the resolution, optionally globally pooled.
#[derive(Module, Debug)]
pub struct ConvStack {
    blocks: Vec<ConvBlock>,
    pool: AdaptiveAvgPool2d,
}

impl ConvStack {
    /// One [`ConvBlock`] per entry of `channels`, starting from `in_channels`.
    pub fn new(in_channels: usize, channels: &[usize], dropout: f64, device: &Device) -> Self {
        let mut previous = in_channels;
        let blocks = channels
            .iter()
            .map(|&out| {
                let block = ConvBlock::new(previous, out, dropout, device);
                previous = out;
                block
            })
            .collect();
        Self {
            blocks,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
        }
    }

    /// Channels of the last block's output.
    pub fn out_channels(&self) -> usize {
        self.blocks.last().map_or(0, |b| b.out_channels())
    }

    /// `[N, C_in, H, W] -> [N, C_out, H / 2^k, W / 2^k]` for `k` blocks.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.blocks.iter().fold(x, |x, block| block.forward(x))
    }

    /// `[N, C_in, H, W] -> [N, C_out]`, globally average-pooled.
    pub fn forward_pooled(&self, x: Tensor<4>) -> Tensor<2> {
        self.pool.forward(self.forward(x)).flatten::<2>(1, 3)
    }

    /// Appends [`ConvStack::forward`] to `net` under `name`.
    pub fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        self.blocks.iter().enumerate().try_fold(x, |x, (i, block)| {
            block.describe(net, &format!("{name}.blocks.{i}"), x)
        })
    }

    /// Appends [`ConvStack::forward_pooled`] to `net` under `name`.
    pub fn describe_pooled(
        &self,
        net: &mut Network,
        name: &str,
        x: Value,
    ) -> Result<Value, GraphError> {
        let x = self.describe(net, name, x)?;
        global_average(net, name, x)
    }
}

/// Global average pooling of a map into a vector: `[C, H, W] -> [C]`, nodes named after
/// `name`.
pub fn global_average(net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
    let pooled = net.push(format!("{name}.pool"), Op::GlobalAveragePool, &[x])?;
    net.push(format!("{name}.flatten"), Op::Squeeze, &[pooled])
}

/// A pre-norm Transformer encoder (layer norm before attention and MLP, as ViT), the token
/// mixer of the attention-based backbones: `[N, T, d_model] -> [N, T, d_model]`.
pub fn pre_norm_encoder(
    d_model: usize,
    mlp_dim: usize,
    heads: usize,
    depth: usize,
    dropout: f64,
    device: &Device,
) -> TransformerEncoder {
    TransformerEncoderConfig::new(d_model, mlp_dim, heads, depth)
        .with_dropout(dropout)
        .with_norm_first(true)
        .init(device)
}
