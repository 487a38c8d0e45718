//! Feature extractors, one architecture per file. Each has a `Config` whose `init` builds a
//! burn `Module` implementing [`mien_core::Backbone`]; [`crate::registry`] names them all.

pub mod attention_cnn;
pub mod baseline_cnn;
pub mod blocks;
pub mod efficientnet_b0;
pub mod hybrid_transformer;
pub mod mini_xception;
pub mod multi_scale;
pub mod region_ensemble;
pub mod resnet;
pub mod resnet18;
pub mod resnet50;
pub mod vit_tiny;

pub use attention_cnn::{AttentionCnn, AttentionCnnConfig};
pub use baseline_cnn::{BaselineCnn, BaselineCnnConfig};
pub use efficientnet_b0::{EfficientNetB0, EfficientNetB0Config};
pub use hybrid_transformer::{HybridTransformer, HybridTransformerConfig};
pub use mini_xception::{MiniXception, MiniXceptionConfig};
pub use multi_scale::{MultiScale, MultiScaleConfig};
pub use region_ensemble::{RegionEnsemble, RegionEnsembleConfig};
pub use resnet18::{ResNet18, ResNet18Config};
pub use resnet50::{ResNet50, ResNet50Config};
pub use vit_tiny::{VitTiny, VitTinyConfig};
