//! Hybrid CNN-Transformer: convolutions find local features, a Transformer relates them
//! across the face (in the spirit of ViT's hybrid variant and of FER models such as
//! TransFER).
//!
//! Two convolution blocks (32, 64 channels) turn a 48×48 face into a 12×12 feature map; a
//! 1×1 convolution projects it to `d_model`-wide tokens (144 of them), learned position
//! embeddings are added, a pre-norm Transformer encoder (2 layers, 4 heads) mixes them, and
//! the mean token (layer-normed) is the feature vector.
//!
//! With the defaults (48×48 grayscale, d_model 128) the backbone has 357,344 trainable
//! parameters.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderInput};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig};
use burn::prelude::*;
use mien_core::graph::layers::{self, conv, layer_norm};
use mien_core::graph::{GraphError, Network, Op, Value};
use mien_core::kernels::conv2d_layer;
use mien_core::{Backbone, InputShape};

use super::blocks::{ConvStack, pre_norm_encoder};

/// Configuration of [`HybridTransformer`].
#[derive(Config, Debug)]
pub struct HybridTransformerConfig {
    /// The input the network is built for.
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Channels of the convolution blocks (each halves the resolution).
    #[config(default = "vec![32, 64]")]
    pub conv_channels: Vec<usize>,
    /// Token width (the feature dimension).
    #[config(default = 128)]
    pub d_model: usize,
    /// Encoder layers.
    #[config(default = 2)]
    pub depth: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub heads: usize,
    /// Hidden width of each layer's MLP.
    #[config(default = 256)]
    pub mlp_dim: usize,
    /// Dropout in the convolution blocks and the encoder.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl HybridTransformerConfig {
    /// Side lengths `(height, width)` of the token grid.
    pub fn grid(&self) -> (usize, usize) {
        let shrink = 1 << self.conv_channels.len();
        (self.input.height / shrink, self.input.width / shrink)
    }

    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> HybridTransformer {
        let convs = ConvStack::new(
            self.input.channels,
            &self.conv_channels,
            self.dropout,
            device,
        );
        let (gh, gw) = self.grid();
        HybridTransformer {
            project: Conv2dConfig::new([convs.out_channels(), self.d_model], [1, 1]).init(device),
            convs,
            pos_embed: Initializer::Normal {
                mean: 0.0,
                std: 0.02,
            }
            .init([1, gh * gw, self.d_model], device),
            encoder: pre_norm_encoder(
                self.d_model,
                self.mlp_dim,
                self.heads,
                self.depth,
                self.dropout,
                device,
            ),
            norm: LayerNormConfig::new(self.d_model).init(device),
            input: self.input,
        }
    }
}

/// The hybrid CNN-Transformer backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct HybridTransformer {
    convs: ConvStack,
    project: Conv2d,
    pos_embed: Param<Tensor<3>>,
    encoder: TransformerEncoder,
    norm: LayerNorm,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for HybridTransformer {
    /// `[N, C, H, W] -> [N, d_model]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let map = conv2d_layer(&self.project, self.convs.forward(images)); // [N, D, H/4, W/4]
        let [n, d, gh, gw] = map.dims();
        let tokens = map.reshape([n, d, gh * gw]).swap_dims(1, 2) + self.pos_embed.val(); // [N, T, D]
        let tokens = self.encoder.forward(TransformerEncoderInput::new(tokens));
        self.norm.forward(tokens.mean_dim(1).reshape([n, d]))
    }

    fn feature_dim(&self) -> usize {
        self.norm.gamma.dims()[0]
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let map = self.convs.describe(net, "convs", image)?;
        let map = conv(net, "project", &self.project, None, map)?;
        let tokens = net.push("tokens", Op::ToTokens, &[map])?;
        let positions = layers::values("pos_embed", self.pos_embed.val())?;
        let tokens = net.push("pos_embed", Op::AddConstant(positions), &[tokens])?;
        let tokens = layers::encoder(net, "encoder", &self.encoder, tokens)?;
        let mean = net.push("mean_token", Op::MeanTokens, &[tokens])?;
        layer_norm(net, "norm", &self.norm, mean)
    }
}
