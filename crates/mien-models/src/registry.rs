//! Every architecture by name, so that command-line tools, experiment files and benches can
//! build any backbone from a string or a serde config. Adding an architecture is one line
//! in the `architectures!` list at the bottom of this file.
//!
//! ```
//! use mien_models::registry::{Architecture, BackboneConfig};
//! use mien_core::Backbone;
//!
//! let device = mien_core::device::cpu();
//! let config: BackboneConfig = "mini_xception".parse::<Architecture>()?.default_config();
//! let backbone = config.init(&device);
//! assert_eq!(backbone.feature_dim(), 128);
//! # Ok::<(), mien_models::registry::UnknownArchitecture>(())
//! ```

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use mien_core::{Backbone, InputShape};
use serde::{Deserialize, Serialize};

use crate::backbones::*;

/// A name that is no architecture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture {name:?}: expected one of {known}")]
pub struct UnknownArchitecture {
    /// The name given.
    pub name: String,
    /// The known names, comma-separated.
    pub known: String,
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Architecture {
    type Err = UnknownArchitecture;

    /// Case-insensitive; `-` and `_` are interchangeable, and may be left out
    /// (`ResNet-18` and `resnet18` both name [`Architecture::ResNet18`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let squash = |name: &str| name.to_ascii_lowercase().replace(['-', '_'], "");
        let wanted = squash(s.trim());
        Architecture::ALL
            .into_iter()
            .find(|a| squash(a.name()) == wanted)
            .ok_or_else(|| UnknownArchitecture {
                name: s.to_owned(),
                known: Architecture::ALL.map(|a| a.name()).join(", "),
            })
    }
}

/// Generates [`Architecture`], [`BackboneConfig`] and [`AnyBackbone`] from one list.
macro_rules! architectures {
    ($($variant:ident($backbone:ident, $config:ident) = $name:literal, $doc:literal;)+) => {
        /// The architectures mien implements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Architecture {
            $(
                #[doc = $doc]
                #[serde(rename = $name)]
                $variant,
            )+
        }

        impl Architecture {
            /// Every architecture, in the order the docs list them.
            pub const ALL: [Architecture; [$($name),+].len()] = [$(Architecture::$variant),+];

            /// The name used on command lines and in files (`baseline_cnn`, `resnet18`, …).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Architecture::$variant => $name,)+
                }
            }

            /// The architecture's default configuration (48×48 grayscale input).
            pub fn default_config(self) -> BackboneConfig {
                match self {
                    $(Architecture::$variant => BackboneConfig::$variant($config::new()),)+
                }
            }
        }

        /// The configuration of a backbone of any architecture; in files,
        /// `{"architecture": "resnet18", …fields of its config…}`.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(tag = "architecture")]
        pub enum BackboneConfig {
            $(
                #[doc = concat!("See [`", stringify!($config), "`].")]
                #[serde(rename = $name)]
                $variant($config),
            )+
        }

        impl BackboneConfig {
            /// Which architecture this configures.
            pub fn architecture(&self) -> Architecture {
                match self {
                    $(BackboneConfig::$variant(_) => Architecture::$variant,)+
                }
            }

            /// The input the backbone is built for.
            pub fn input(&self) -> InputShape {
                match self {
                    $(BackboneConfig::$variant(c) => c.input,)+
                }
            }

            /// The same configuration for another input size or channel count.
            pub fn with_input(self, input: InputShape) -> Self {
                match self {
                    $(BackboneConfig::$variant(c) => BackboneConfig::$variant(c.with_input(input)),)+
                }
            }

            /// Builds the backbone with freshly initialised weights on `device`.
            pub fn init(&self, device: &Device) -> AnyBackbone {
                match self {
                    $(BackboneConfig::$variant(c) => AnyBackbone::$variant(c.init(device)),)+
                }
            }
        }

        /// A backbone of any architecture, chosen at run time; heads take it like any
        /// other [`Backbone`].
        // One per model, built once: the variants' sizes (a kilobyte at most) do not matter.
        #[allow(clippy::large_enum_variant)]
        #[derive(Module, Debug)]
        pub enum AnyBackbone {
            $(
                #[doc = concat!("A [`", stringify!($backbone), "`].")]
                $variant($backbone),
            )+
        }

        impl Backbone for AnyBackbone {
            fn features(&self, images: Tensor<4>) -> Tensor<2> {
                match self {
                    $(AnyBackbone::$variant(b) => b.features(images),)+
                }
            }

            fn feature_dim(&self) -> usize {
                match self {
                    $(AnyBackbone::$variant(b) => b.feature_dim(),)+
                }
            }

            fn input_shape(&self) -> InputShape {
                match self {
                    $(AnyBackbone::$variant(b) => b.input_shape(),)+
                }
            }

            fn describe(
                &self,
                net: &mut mien_core::graph::Network,
                image: mien_core::graph::Value,
            ) -> Result<mien_core::graph::Value, mien_core::graph::GraphError> {
                match self {
                    $(AnyBackbone::$variant(b) => b.describe(net, image),)+
                }
            }
        }
    };
}

architectures! {
    BaselineCnn(BaselineCnn, BaselineCnnConfig) = "baseline_cnn",
        "Three double-convolution blocks, global pooling, dense neck (~0.35 M parameters).";
    AttentionCnn(AttentionCnn, AttentionCnnConfig) = "attention_cnn",
        "The baseline with CBAM channel + spatial attention after each block.";
    MultiScale(MultiScale, MultiScaleConfig) = "multi_scale",
        "Three convolution branches at half, native and double resolution, fused.";
    HybridTransformer(HybridTransformer, HybridTransformerConfig) = "hybrid_transformer",
        "Convolutions to a 12×12 token grid, then a Transformer encoder.";
    RegionEnsemble(RegionEnsemble, RegionEnsembleConfig) = "region_ensemble",
        "Eyes, mouth and whole-face experts with attention-weighted fusion.";
    VitTiny(VitTiny, VitTinyConfig) = "vit_tiny",
        "ViT-tiny with 6-px patches (an 8×8 grid on 48×48 faces).";
    ResNet18(ResNet18, ResNet18Config) = "resnet18",
        "ResNet-18 with a 3×3 stride-1 stem for 48×48 faces.";
    MiniXception(MiniXception, MiniXceptionConfig) = "mini_xception",
        "mini-Xception: depthwise-separable residual modules (~50 k parameters).";
    EfficientNetB0(EfficientNetB0, EfficientNetB0Config) = "efficientnet_b0",
        "EfficientNet-B0 (MBConv with squeeze-excitation, SiLU) with a stride-1 stem for 48×48 faces.";
    ResNet50(ResNet50, ResNet50Config) = "resnet50",
        "ResNet-50 (bottleneck blocks, 2,048 features) with a 3×3 stride-1 stem for 48×48 faces.";
}
