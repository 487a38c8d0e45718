//! Emotion classification on top of any [`Backbone`].

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use mien_core::Backbone;

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
    head: Linear,
}

impl<B: Backbone> Classifier<B> {
    /// Class scores before softmax: `[N, C, H, W] -> [N, num_classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self.backbone.features(images);
        self.head.forward(self.dropout.forward(features))
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
