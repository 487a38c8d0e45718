//! ViT-tiny (Dosovitskiy et al., ICLR 2021; DeiT-Ti sizes) for small faces.
//!
//! The face is cut into non-overlapping `patch_size`² patches by a strided convolution; a
//! learned class token and learned position embeddings are added, a pre-norm Transformer
//! encoder mixes the tokens, and the class token's final state (layer-normed) is the feature
//! vector. **Patch size: 6 px** for 48×48 faces, giving an 8×8 grid of 64 patches (ViT's
//! 16 px patches would leave a 3×3 grid). Width 192, 12 layers, 3 heads, MLP 768, as DeiT-Ti.
//!
//! With the defaults (48×48 grayscale) the backbone has 5,358,528 trainable parameters.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderInput};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig};
use burn::prelude::*;
use mien_core::graph::layers::{self, conv, layer_norm};
use mien_core::graph::{GraphError, Network, Op, Value};
use mien_core::kernels::conv2d_layer;
use mien_core::{Backbone, InputShape};

use super::blocks::pre_norm_encoder;

/// Configuration of [`VitTiny`].
#[derive(Config, Debug)]
pub struct VitTinyConfig {
    /// The input the network is built for; height and width should be multiples of the
    /// patch size (a remainder is cropped away by the patch embedding).
    #[config(default = "InputShape::FER2013")]
    pub input: InputShape,
    /// Side of the square patches, in pixels.
    #[config(default = 6)]
    pub patch_size: usize,
    /// Token width (the feature dimension).
    #[config(default = 192)]
    pub d_model: usize,
    /// Encoder layers.
    #[config(default = 12)]
    pub depth: usize,
    /// Attention heads.
    #[config(default = 3)]
    pub heads: usize,
    /// Hidden width of each layer's MLP.
    #[config(default = 768)]
    pub mlp_dim: usize,
    /// Dropout in the encoder.
    #[config(default = 0.1)]
    pub dropout: f64,
}

impl VitTinyConfig {
    /// Number of patches (tokens before the class token).
    pub fn num_patches(&self) -> usize {
        (self.input.height / self.patch_size) * (self.input.width / self.patch_size)
    }

    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> VitTiny {
        let p = self.patch_size;
        let trunc_normal = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        VitTiny {
            patch_embed: Conv2dConfig::new([self.input.channels, self.d_model], [p, p])
                .with_stride([p, p])
                .init(device),
            cls_token: trunc_normal.init([1, 1, self.d_model], device),
            pos_embed: trunc_normal.init([1, self.num_patches() + 1, self.d_model], device),
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

/// The ViT-tiny backbone; see the [module docs](self).
#[derive(Module, Debug)]
pub struct VitTiny {
    patch_embed: Conv2d,
    cls_token: Param<Tensor<3>>,
    pos_embed: Param<Tensor<3>>,
    encoder: TransformerEncoder,
    norm: LayerNorm,
    #[module(skip)]
    input: InputShape,
}

impl Backbone for VitTiny {
    /// `[N, C, H, W] -> [N, d_model]`
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let patches = conv2d_layer(&self.patch_embed, images); // [N, D, H/p, W/p]
        let [n, d, gh, gw] = patches.dims();
        let tokens = patches.reshape([n, d, gh * gw]).swap_dims(1, 2); // [N, P, D]
        let cls = self.cls_token.val().expand([n, 1, d]);
        let x = Tensor::cat(vec![cls, tokens], 1) + self.pos_embed.val(); // [N, P + 1, D]
        let x = self.encoder.forward(TransformerEncoderInput::new(x));
        let cls = x.narrow(1, 0, 1).reshape([n, d]); // [N, D]
        self.norm.forward(cls)
    }

    fn feature_dim(&self) -> usize {
        self.norm.gamma.dims()[0]
    }

    fn input_shape(&self) -> InputShape {
        self.input
    }

    fn describe(&self, net: &mut Network, image: Value) -> Result<Value, GraphError> {
        let patches = conv(net, "patch_embed", &self.patch_embed, None, image)?;
        let tokens = net.push("tokens", Op::ToTokens, &[patches])?;
        let cls = layers::values("cls_token", self.cls_token.val())?;
        let tokens = net.push("cls_token", Op::PrependToken(cls), &[tokens])?;
        let positions = layers::values("pos_embed", self.pos_embed.val())?;
        let tokens = net.push("pos_embed", Op::AddConstant(positions), &[tokens])?;
        let tokens = layers::encoder(net, "encoder", &self.encoder, tokens)?;
        let cls = net.push("cls", Op::FirstToken, &[tokens])?;
        layer_norm(net, "norm", &self.norm, cls)
    }
}
