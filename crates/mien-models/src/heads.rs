//! Heads that turn any [`Backbone`]'s features into predictions: emotion classes, smile
//! intensity, or both from one backbone pass.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};
use mien_core::Backbone;
use mien_core::kernels::dropout_layer;

/// Configuration of a [`Classifier`] head.
#[derive(Config, Debug)]
pub struct ClassifierConfig {
    /// Number of classes: 7 for FER2013, 8 for FER+.
    pub num_classes: usize,
    /// Dropout on the features before the linear layer.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ClassifierConfig {
    /// Puts a freshly initialised linear head on `backbone`.
    pub fn init<B: Backbone>(&self, backbone: B, device: &Device) -> Classifier<B> {
        let head = LinearConfig::new(backbone.feature_dim(), self.num_classes).init(device);
        Classifier {
            backbone,
            dropout: DropoutConfig::new(self.dropout).init(),
            head,
        }
    }
}

/// A backbone followed by a linear layer that scores each class.
#[derive(Module, Debug)]
pub struct Classifier<B: Backbone> {
    /// The feature extractor.
    pub backbone: B,
    dropout: Dropout,
    pub(crate) head: Linear,
}

impl<B: Backbone> Classifier<B> {
    /// Class scores before softmax: `[N, C, H, W] -> [N, num_classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.backbone.features(images);
        self.head.forward(dropout_layer(&self.dropout, features))
    }

    /// Class probabilities: `[N, C, H, W] -> [N, num_classes]`, rows summing to 1.
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        softmax(self.forward(images), 1)
    }

    /// Number of classes the head scores.
    pub fn num_classes(&self) -> usize {
        self.head.weight.dims()[1]
    }
}

/// Configuration of a [`SmileRegressor`] head.
#[derive(Config, Debug)]
pub struct SmileRegressorConfig {
    /// Dropout on the features before the linear layer.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl SmileRegressorConfig {
    /// Puts a freshly initialised smile-intensity head on `backbone`.
    pub fn init<B: Backbone>(&self, backbone: B, device: &Device) -> SmileRegressor<B> {
        SmileRegressor {
            head: LinearConfig::new(backbone.feature_dim(), 1).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            backbone,
        }
    }
}

/// A backbone followed by a linear layer and a sigmoid: smile intensity in `[0, 1]`
/// (trained on the FER+ happiness vote fraction; shown to users as `1 + 9 × intensity`).
#[derive(Module, Debug)]
pub struct SmileRegressor<B: Backbone> {
    /// The feature extractor.
    pub backbone: B,
    dropout: Dropout,
    pub(crate) head: Linear,
}

impl<B: Backbone> SmileRegressor<B> {
    /// Intensity before the sigmoid: `[N, C, H, W] -> [N]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<1> {
        let features = dropout_layer(&self.dropout, self.backbone.features(images));
        self.head.forward(features).flatten::<1>(0, 1)
    }

    /// Smile intensity: `[N, C, H, W] -> [N]`, each in `[0, 1]`.
    pub fn intensity(&self, images: Tensor<4>) -> Tensor<1> {
        sigmoid(self.forward(images))
    }
}

/// Configuration of a [`MultiTask`] model.
#[derive(Config, Debug)]
pub struct MultiTaskConfig {
    /// Number of emotion classes: 7 for FER2013, 8 for FER+.
    pub num_classes: usize,
    /// Dropout on the shared features before both heads.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl MultiTaskConfig {
    /// Puts an emotion head and a smile head on one shared `backbone`.
    pub fn init<B: Backbone>(&self, backbone: B, device: &Device) -> MultiTask<B> {
        MultiTask {
            emotion_head: LinearConfig::new(backbone.feature_dim(), self.num_classes).init(device),
            smile_head: LinearConfig::new(backbone.feature_dim(), 1).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            backbone,
        }
    }
}

/// What a [`MultiTask`] model predicts for a batch.
#[derive(Debug, Clone)]
pub struct MultiTaskOutput {
    /// Emotion class scores before softmax, `[N, num_classes]`.
    pub emotion_logits: Tensor<2>,
    /// Smile intensity before the sigmoid, `[N]`.
    pub smile_logits: Tensor<1>,
}

/// One backbone, two heads: emotion classes and smile intensity.
#[derive(Module, Debug)]
pub struct MultiTask<B: Backbone> {
    /// The shared feature extractor.
    pub backbone: B,
    dropout: Dropout,
    pub(crate) emotion_head: Linear,
    pub(crate) smile_head: Linear,
}

impl<B: Backbone> MultiTask<B> {
    /// Both heads' raw outputs from one backbone pass.
    pub fn forward(&self, images: Tensor<4>) -> MultiTaskOutput {
        let features = dropout_layer(&self.dropout, self.backbone.features(images));
        MultiTaskOutput {
            emotion_logits: self.emotion_head.forward(features.clone()),
            smile_logits: self.smile_head.forward(features).flatten::<1>(0, 1),
        }
    }
}
