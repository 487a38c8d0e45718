//! mini-Xception (Arriaga, Valdenegro-Toro & Plöger, 2017): the classic small FER2013 model.
//!
//! A two-convolution stem, then four residual modules of depthwise-separable convolutions
//! (16, 32, 64, 128 filters), each halving the resolution with a strided 1×1 shortcut.
//! The paper ends with a 3×3 convolution to the classes and global pooling; here global
//! pooling gives a 128-dimensional feature vector and the class head is mien's linear head.
//!
//! 48×48×1 input: 48 → 46 → 44 (stem, valid) → 22 → 11 → 6 → 3 (modules). Parameters with
//! the defaults: 48,880 trainable in the backbone (50,352 counting batch norm's running
//! statistics, as burn's `num_params` does); a 7-class head adds 903.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use mien_core::graph::layers::{activate, conv, conv_activation, max_pool};
use mien_core::graph::{Activation, GraphError, Network, Op, Value};
use mien_core::kernels::{batch_norm_layer, batch_norm_relu_layer, conv2d_layer, max_pool2d_layer};

use super::blocks::global_average;
use mien_core::{Backbone, InputShape};

/// Configuration of [`MiniXception`].
#[derive(Config, Debug)]
pub struct MiniXceptionConfig {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Channels of the two stem convolutions.
    #[config(default = 8)]
    pub stem_channels: usize,
    /// Filters of the residual modules; the last is the feature dimension.
    #[config(default = "vec![16, 32, 64, 128]")]
    pub module_channels: Vec<usize>,
}

impl MiniXceptionConfig {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> MiniXception {
        let stem = [
            ConvBn::new(self.input.channels, self.stem_channels, device),
            ConvBn::new(self.stem_channels, self.stem_channels, device),
        ];
        let mut channels = self.stem_channels;
        let modules = self
            .module_channels
            .iter()
            .map(|&out| {
                let module = XceptionModule::new(channels, out, device);
                channels = out;
                module
            })
            .collect();
        MiniXception {
            stem: stem.into(),
            modules,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            feature_dim: channels,
            input: self.input,
        }
    }
}

/// A valid 3×3 convolution without bias, followed by batch norm.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub(crate) conv: Conv2d,
    pub(crate) norm: BatchNorm,
}

impl ConvBn {
    fn new(in_channels: usize, out_channels: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([in_channels, out_channels], [3, 3])
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(out_channels).init(device),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, H - 2, W - 2]`, then ReLU.
    pub fn forward_relu(&self, x: Tensor<4>) -> Tensor<4> {
        batch_norm_relu_layer(&self.norm, conv2d_layer(&self.conv, x))
    }
}

/// A depthwise 3×3 convolution followed by a pointwise 1×1 one, both without bias
/// (Keras' `SeparableConv2D(use_bias=False)`), then batch norm.
#[derive(Module, Debug)]
pub struct SeparableConvBn {
    pub(crate) depthwise: Conv2d,
    pub(crate) pointwise: Conv2d,
    pub(crate) norm: BatchNorm,
}

impl SeparableConvBn {
    fn new(in_channels: usize, out_channels: usize, device: &Device) -> Self {
        Self {
            depthwise: Conv2dConfig::new([in_channels, in_channels], [3, 3])
                .with_groups(in_channels)
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            pointwise: Conv2dConfig::new([in_channels, out_channels], [1, 1])
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(out_channels).init(device),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        batch_norm_layer(&self.norm, self.convolve(x))
    }

    /// [`Self::forward`], then ReLU.
    pub fn forward_relu(&self, x: Tensor<4>) -> Tensor<4> {
        batch_norm_relu_layer(&self.norm, self.convolve(x))
    }

    fn convolve(&self, x: Tensor<4>) -> Tensor<4> {
        conv2d_layer(&self.pointwise, conv2d_layer(&self.depthwise, x))
    }

    /// Appends [`SeparableConvBn::forward`] to `net` under `name`.
    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let x = conv(net, &format!("{name}.depthwise"), &self.depthwise, None, x)?;
        conv(
            net,
            &format!("{name}.pointwise"),
            &self.pointwise,
            Some(&self.norm),
            x,
        )
    }
}

/// Two separable convolutions and a strided max pool, plus a strided 1×1 shortcut.
#[derive(Module, Debug)]
pub struct XceptionModule {
    pub(crate) shortcut: Conv2d,
    pub(crate) shortcut_norm: BatchNorm,
    pub(crate) separable1: SeparableConvBn,
    pub(crate) separable2: SeparableConvBn,
    pool: MaxPool2d,
}

impl XceptionModule {
    fn new(in_channels: usize, out_channels: usize, device: &Device) -> Self {
        Self {
            shortcut: Conv2dConfig::new([in_channels, out_channels], [1, 1])
                .with_stride([2, 2])
                .with_bias(false)
                .init(device),
            shortcut_norm: BatchNormConfig::new(out_channels).init(device),
            separable1: SeparableConvBn::new(in_channels, out_channels, device),
            separable2: SeparableConvBn::new(out_channels, out_channels, device),
            pool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, ⌈H / 2⌉, ⌈W / 2⌉]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let residual =
            batch_norm_layer(&self.shortcut_norm, conv2d_layer(&self.shortcut, x.clone()));
        let x = self.separable1.forward_relu(x);
        let x = max_pool2d_layer(&self.pool, self.separable2.forward(x));
        x + residual
    }

    /// Appends [`XceptionModule::forward`] to `net` under `name`.
    fn describe(&self, net: &mut Network, name: &str, x: Value) -> Result<Value, GraphError> {
        let shortcut = format!("{name}.shortcut");
        let residual = conv(net, &shortcut, &self.shortcut, Some(&self.shortcut_norm), x)?;
        let separable1 = format!("{name}.separable1");
        let y = self.separable1.describe(net, &separable1, x)?;
        let y = activate(net, &separable1, Activation::Relu, y)?;
        let y = self
            .separable2
            .describe(net, &format!("{name}.separable2"), y)?;
        let y = max_pool(net, &format!("{name}.pool"), &self.pool, y)?;
        net.push(format!("{name}.residual"), Op::Add, &[y, residual])
    }
}

/// The mini-Xception backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct MiniXception {
    pub(crate) stem: Vec<ConvBn>,
    pub(crate) modules: Vec<XceptionModule>,
    pool: AdaptiveAvgPool2d,
    #[module(skip)]
    feature_dim: usize,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for MiniXception {
    /// `[N, C, H, W] -> [N, 128]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self
            .stem
            .iter()
            .fold(images, |x, conv| conv.forward_relu(x));
        let x = self.modules.iter().fold(x, |x, module| module.forward(x));
        self.pool.forward(x).flatten::<2>(1, 3)
    }

    fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let mut x = image;
        for (i, stem) in self.stem.iter().enumerate() {
            let relu = Activation::Relu;
            x = conv_activation(
                net,
                &format!("stem.{i}"),
                &stem.conv,
                Some(&stem.norm),
                relu,
                x,
            )?;
        }
        for (i, module) in self.modules.iter().enumerate() {
            x = module.describe(net, &format!("modules.{i}"), x)?;
        }
        global_average(net, "top", x)
    }
}
