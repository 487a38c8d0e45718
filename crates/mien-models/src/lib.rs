//! # mien-models
//!
//! Backbones (feature extractors) and heads for facial expression recognition. Every
//! backbone implements [`mien_core::Backbone`], so it plugs into any head:
//!
//! ```
//! use mien_models::backbones::BaselineCnnConfig;
//! use mien_models::ClassifierConfig;
//! use mien_core::burn::tensor::Tensor;
//!
//! let device = mien_core::device::cpu();
//! let backbone = BaselineCnnConfig::new().init(&device);
//! let model = ClassifierConfig::new(7).init(backbone, &device);
//! let probs = model.probabilities(Tensor::zeros([2, 1, 48, 48], &device));
//! assert_eq!(probs.dims(), [2, 7]);
//! ```

pub mod backbones;
mod heads;
pub mod native;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod pretrained;
pub mod registry;
pub mod weights;

pub use heads::{
    Classifier, ClassifierConfig, MultiTask, MultiTaskConfig, MultiTaskOutput, SmileRegressor,
    SmileRegressorConfig,
};

#[cfg(test)]
mod tests;
