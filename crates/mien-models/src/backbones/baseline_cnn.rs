//! The baseline FER CNN: three double-convolution blocks, global pooling and a dense neck.
//!
//! The shape of the classic FER2013 Keras baselines (conv → BN → ReLU, twice, then 2×2 max
//! pooling, with channels doubling per block), with global average pooling instead of a
//! large flattened dense layer so that any input size works.
//!
//! With the defaults (48×48 grayscale, channels 32/64/128, neck 512) the backbone has
//! 353,376 trainable parameters (354,272 counting batch norm's running statistics, as
//! burn's `num_params` does); a 7-class head adds 3,591.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::prelude::*;
use mien_core::{Backbone, InputShape};

/// Configuration of [`BaselineCnn`].
#[derive(Config, Debug)]
pub struct BaselineCnnConfig {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Output channels of each of the three blocks.
    #[config(default = "[32, 64, 128]")]
    pub channels: [usize; 3],
    /// Width of the dense layer after pooling; this is the feature dimension.
    #[config(default = 512)]
    pub neck: usize,
    /// Dropout after each block and after the neck.
    #[config(default = 0.25)]
    pub dropout: f64,
}

impl BaselineCnnConfig {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> BaselineCnn {
        let mut in_channels = self.input.channels;
        let blocks = self
            .channels
            .iter()
            .map(|&out_channels| {
                let block = ConvBlock::new(in_channels, out_channels, self.dropout, device);
                in_channels = out_channels;
                block
            })
            .collect();
        BaselineCnn {
            blocks,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            neck: LinearConfig::new(in_channels, self.neck).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: Relu::new(),
            input: self.input,
        }
    }
}

/// Two 3×3 convolutions with batch norm and ReLU, then 2×2 max pooling and dropout.
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    pool: MaxPool2d,
    dropout: Dropout,
    activation: Relu,
}

impl ConvBlock {
    fn new(in_channels: usize, out_channels: usize, dropout: f64, device: &Device) -> Self {
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
            activation: Relu::new(),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, H / 2, W / 2]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self
            .activation
            .forward(self.norm1.forward(self.conv1.forward(x)));
        let x = self
            .activation
            .forward(self.norm2.forward(self.conv2.forward(x)));
        self.dropout.forward(self.pool.forward(x))
    }
}

/// The baseline FER CNN backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct BaselineCnn {
    blocks: Vec<ConvBlock>,
    pool: AdaptiveAvgPool2d,
    neck: Linear,
    dropout: Dropout,
    activation: Relu,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for BaselineCnn {
    /// `[N, C, H, W] -> [N, neck]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.blocks.iter().fold(images, |x, block| block.forward(x));
        let x = self.pool.forward(x).flatten::<2>(1, 3); // [N, C]
        self.dropout
            .forward(self.activation.forward(self.neck.forward(x)))
    }

    fn feature_dim(&self) -> usize {
        self.neck.weight.dims()[1]
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }
}
