//! The baseline FER CNN: three double-convolution blocks, global pooling and a dense neck.
//!
//! The shape of the classic FER2013 Keras baselines (conv → BN → ReLU, twice, then 2×2 max
//! pooling, with channels doubling per block), with global average pooling instead of a
//! large flattened dense layer so that any input size works.
//!
//! With the defaults (48×48 grayscale, channels 32/64/128, neck 512) the backbone has
//! 353,376 trainable parameters (354,272 counting batch norm's running statistics, as
//! burn's `num_params` does); a 7-class head adds 3,591.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;
use mien_core::graph::layers::{activate, dense};
use mien_core::graph::{Activation, GraphError, Network, Value};
use mien_core::kernels::dropout_layer;
use mien_core::{Backbone, InputShape};

use super::blocks::ConvStack;

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
        let convs = ConvStack::new(self.input.channels, &self.channels, self.dropout, device);
        BaselineCnn {
            neck: LinearConfig::new(convs.out_channels(), self.neck).init(device),
            convs,
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: Relu::new(),
            input: self.input,
        }
    }
}

/// The baseline FER CNN backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct BaselineCnn {
    convs: ConvStack,
    neck: Linear,
    dropout: Dropout,
    activation: Relu,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for BaselineCnn {
    /// `[N, C, H, W] -> [N, neck]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.convs.forward_pooled(images); // [N, C]
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
        let x = self.convs.describe_pooled(net, "convs", image)?;
        let x = dense(net, "neck", &self.neck, x)?;
        activate(net, "neck", Activation::Relu, x)
    }
}
