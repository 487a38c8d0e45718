//! mini-Xception models on the CPU through mien's own layers ([`mien_core::native`]) instead
//! of burn: the same outputs up to float rounding (tested), at a fraction of burn-flex's
//! batch-1 latency, which is dominated by per-operation dispatch for a network this small.
//!
//! ```
//! use mien_models::native::NativeModel;
//! use mien_models::pretrained::Pretrained;
//!
//! let saved = Pretrained::FerPlusSmile.load(&mien_core::device::cpu())?;
//! let native = NativeModel::from_model(&saved.model)?.expect("mini-Xception runs natively");
//! let face = vec![0.5; saved.spec.preprocessing.values_per_image()];
//! let prediction = native.predict(&face);
//! assert_eq!(prediction.probabilities.map(|p| p.len()), Some(8));
//! # Ok::<(), mien_models::weights::ModelError>(())
//! ```

use mien_core::InputShape;
use mien_core::native::{Conv2d, Depthwise3x3, Linear, Map};
use rayon::prelude::*;

use crate::backbones::mini_xception::{ConvBn, MiniXception, SeparableConvBn, XceptionModule};
use crate::registry::AnyBackbone;
use crate::weights::{Model, ModelError};

/// A model's forward pass on mien's native CPU layers.
#[derive(Debug, Clone)]
pub struct NativeModel {
    input: InputShape,
    backbone: NativeMiniXception,
    emotion: Option<Linear>,
    smile: Option<Linear>,
}

/// What [`NativeModel::predict`] outputs, as probabilities: [`crate::weights::Prediction`]
/// read into vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct NativePrediction {
    /// Emotion class probabilities, `classes` per image (softmax), for emotion and
    /// multi-task heads.
    pub probabilities: Option<Vec<f32>>,
    /// Smile intensity in `[0, 1]`, one per image (sigmoid), for smile and multi-task heads.
    pub smile: Option<Vec<f32>>,
}

impl NativeModel {
    /// The native pass of `model`, or `None` for an architecture it does not cover (only
    /// mini-Xception so far).
    ///
    /// # Errors
    /// [`ModelError::Backend`] when the backend cannot hand over the weights, or a layer's
    /// settings are outside what the native kernels cover.
    pub fn from_model(model: &Model) -> Result<Option<Self>, ModelError> {
        let AnyBackbone::MiniXception(backbone) = model.backbone() else {
            return Ok(None);
        };
        let (emotion, smile) = match model {
            Model::Emotion(m) => (Some(&m.head), None),
            Model::Smile(m) => (None, Some(&m.head)),
            Model::MultiTask(m) => (Some(&m.emotion_head), Some(&m.smile_head)),
        };
        Ok(Some(Self {
            input: mien_core::Backbone::input_shape(backbone),
            backbone: NativeMiniXception::new(backbone)?,
            emotion: emotion.map(Linear::from_burn).transpose()?,
            smile: smile.map(Linear::from_burn).transpose()?,
        }))
    }

    /// Every head's output for images laid out as the model's preprocessing makes them
    /// (`[N, C, H, W]`, flattened); the images run in parallel.
    ///
    /// # Panics
    /// When `images` is not a whole number of images of the model's input shape.
    pub fn predict(&self, images: &[f32]) -> NativePrediction {
        let InputShape {
            channels,
            height,
            width,
        } = self.input;
        let size = channels * height * width;
        assert!(
            images.len().is_multiple_of(size),
            "{} values are not whole {channels}×{height}×{width} images",
            images.len()
        );
        let features: Vec<Vec<f32>> = images
            .par_chunks_exact(size)
            .map(|image| {
                let map = Map::from_chw(channels, height, width, image);
                self.backbone.features(map)
            })
            .collect();
        let probabilities = self.emotion.as_ref().map(|head| {
            features
                .iter()
                .flat_map(|f| softmax(head.forward(f)))
                .collect()
        });
        let smile = self.smile.as_ref().map(|head| {
            features
                .iter()
                .map(|f| sigmoid(head.forward(f)[0]))
                .collect()
        });
        NativePrediction {
            probabilities,
            smile,
        }
    }
}

/// [`MiniXception`]'s layers with batch norm folded into the convolutions.
#[derive(Debug, Clone)]
struct NativeMiniXception {
    stem: Vec<Conv2d>,
    modules: Vec<NativeModule>,
}

/// An [`XceptionModule`]: two separable convolutions and a max pool, plus a strided 1×1
/// shortcut.
#[derive(Debug, Clone)]
struct NativeModule {
    shortcut: Conv2d,
    separable: [(Depthwise3x3, Conv2d); 2],
}

impl NativeMiniXception {
    fn new(net: &MiniXception) -> Result<Self, mien_core::Error> {
        Ok(Self {
            stem: net.stem.iter().map(conv_bn).collect::<Result<_, _>>()?,
            modules: net
                .modules
                .iter()
                .map(NativeModule::new)
                .collect::<Result<_, _>>()?,
        })
    }

    /// `[H, W, C] -> [features]`, as [`mien_core::Backbone::features`].
    fn features(&self, image: Map) -> Vec<f32> {
        let x = self
            .stem
            .iter()
            .fold(image, |x, conv| conv.forward(&x).relu());
        let x = self.modules.iter().fold(x, |x, module| module.forward(&x));
        x.global_average()
    }
}

impl NativeModule {
    fn new(module: &XceptionModule) -> Result<Self, mien_core::Error> {
        Ok(Self {
            shortcut: Conv2d::from_burn(&module.shortcut)?
                .then_batch_norm(&module.shortcut_norm)?,
            separable: [
                separable(&module.separable1)?,
                separable(&module.separable2)?,
            ],
        })
    }

    /// `[H, W, C_in] -> [⌈H / 2⌉, ⌈W / 2⌉, C_out]`, as [`XceptionModule::forward`].
    fn forward(&self, x: &Map) -> Map {
        let residual = self.shortcut.forward(x);
        let [(depthwise1, pointwise1), (depthwise2, pointwise2)] = &self.separable;
        let y = pointwise1.forward(&depthwise1.forward(x)).relu();
        let y = pointwise2.forward(&depthwise2.forward(&y));
        y.max_pool(3, 2, 1).plus(&residual)
    }
}

fn conv_bn(layer: &ConvBn) -> Result<Conv2d, mien_core::Error> {
    Conv2d::from_burn(&layer.conv)?.then_batch_norm(&layer.norm)
}

fn separable(layer: &SeparableConvBn) -> Result<(Depthwise3x3, Conv2d), mien_core::Error> {
    Ok((
        Depthwise3x3::from_burn(&layer.depthwise)?,
        Conv2d::from_burn(&layer.pointwise)?.then_batch_norm(&layer.norm)?,
    ))
}

fn softmax(logits: Vec<f32>) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit).exp())
}

#[cfg(test)]
mod tests;
