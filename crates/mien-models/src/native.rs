//! Models on the CPU through mien's interpreter ([`mien_core::graph::NativeNetwork`]) over
//! the network each model describes ([`Model::describe`]), instead of burn: the same outputs
//! up to float rounding (tested for every architecture), at a fraction of burn-flex's batch-1
//! latency, which is dominated by per-operation dispatch for networks this small.
//!
//! ```
//! use mien_models::native::NativeModel;
//! use mien_models::pretrained::Pretrained;
//!
//! let saved = Pretrained::FerPlusSmile.load(&mien_core::device::cpu())?;
//! let native = NativeModel::from_model(&saved.model)?;
//! let face = vec![0.5; saved.spec.preprocessing.values_per_image()];
//! let prediction = native.predict(&face);
//! assert_eq!(prediction.probabilities.map(|p| p.len()), Some(8));
//! # Ok::<(), mien_models::weights::ModelError>(())
//! ```

use mien_core::InputShape;
use mien_core::graph::NativeNetwork;
use rayon::prelude::*;

use crate::weights::{Model, ModelError, PROBABILITIES_OUTPUT, SMILE_OUTPUT};

/// A model's forward pass on mien's native CPU kernels.
#[derive(Debug, Clone)]
pub struct NativeModel {
    network: NativeNetwork,
    /// Which of the network's outputs are the probabilities and the smile.
    probabilities: Option<usize>,
    smile: Option<usize>,
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
    /// The native pass of `model`, compiled from its description.
    ///
    /// # Errors
    /// [`ModelError::Graph`] when a layer cannot be described or run by the native kernels;
    /// this is decided here, never while predicting.
    pub fn from_model(model: &Model) -> Result<Self, ModelError> {
        let description = model.describe()?;
        let position = |name: &str| {
            description
                .outputs()
                .iter()
                .position(|(output, _)| output == name)
        };
        Ok(Self {
            probabilities: position(PROBABILITIES_OUTPUT),
            smile: position(SMILE_OUTPUT),
            network: NativeNetwork::new(&description)?,
        })
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
        } = self.network.input();
        let size = channels * height * width;
        assert!(
            size > 0 && images.len().is_multiple_of(size),
            "{} values are not whole {channels}×{height}×{width} images",
            images.len()
        );
        let outputs: Vec<Vec<Vec<f32>>> = images
            .par_chunks_exact(size)
            .map(|image| self.network.run(image).expect("whole images were checked"))
            .collect();
        let gather = |index: Option<usize>| {
            index.map(|i| outputs.iter().flat_map(|o| o[i].iter().copied()).collect())
        };
        NativePrediction {
            probabilities: gather(self.probabilities),
            smile: gather(self.smile),
        }
    }
}

#[cfg(test)]
mod tests;
