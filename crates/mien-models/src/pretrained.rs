//! Trained models bundled with mien: no training, no download. Each is a safetensors file
//! embedded in the library (with its [`ModelSpec`](crate::weights::ModelSpec) inside) and has
//! a model card in `docs/models/`.
//!
//! ```
//! use mien_models::pretrained::Pretrained;
//! let device = mien_core::device::cpu();
//! let saved = Pretrained::Default.load(&device).unwrap();
//! assert_eq!(saved.spec.backbone.architecture().to_string(), "mini_xception");
//! ```

use std::path::Path;
use std::str::FromStr;

use burn::prelude::Device;

use crate::weights::{ModelError, SavedModel, load_bytes};

/// A bundled model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pretrained {
    /// 7 FER2013 emotions, a wide mini-Xception (stem 16, modules 32–256; 0.8 ms a face on
    /// the native CPU pass, `docs/BENCHMARKS.md`).
    Default,
    /// 8 FER+ emotions (with contempt) and smile intensity from one mini-Xception: trained on
    /// the FER+ vote distributions and the happiness vote fraction.
    FerPlusSmile,
}

/// What a bundled model measured on FER2013 PublicTest (the faces that also occur in Training
/// removed), as its model card reports. The figures are of each face read together with its
/// mirror image (`mien::AnalyzerBuilder::mirror_average`, on by default) unless they say
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Card {
    /// Faces evaluated.
    pub faces: usize,
    /// Accuracy against the model's own label set: FER2013 labels for
    /// [`Pretrained::Default`], the FER+ majority vote for [`Pretrained::FerPlusSmile`].
    pub accuracy: f64,
    /// The same accuracy from one pass per face, without the mirror image (half the time).
    pub single_pass_accuracy: f64,
    /// Pearson r of the smile intensity against the happiness vote fraction, if it has one.
    pub smile_pearson: Option<f64>,
    /// Mean absolute error of the smile intensity (0–1 scale), if it has one.
    pub smile_mae: Option<f64>,
}

impl Pretrained {
    /// Every bundled model.
    pub const ALL: [Pretrained; 2] = [Pretrained::Default, Pretrained::FerPlusSmile];

    /// Its name (for command lines and errors).
    pub fn name(self) -> &'static str {
        match self {
            Pretrained::Default => "default",
            Pretrained::FerPlusSmile => "ferplus-smile",
        }
    }

    /// The embedded safetensors file.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Pretrained::Default => include_bytes!("../weights/default_fer2013.safetensors"),
            Pretrained::FerPlusSmile => include_bytes!("../weights/ferplus_smile.safetensors"),
        }
    }

    /// What its model card reports.
    pub fn card(self) -> Card {
        match self {
            Pretrained::Default => Card {
                faces: 3309,
                accuracy: 0.6652,
                single_pass_accuracy: 0.6449,
                smile_pearson: None,
                smile_mae: None,
            },
            Pretrained::FerPlusSmile => Card {
                faces: 3309,
                accuracy: 0.8443,
                single_pass_accuracy: 0.8365,
                smile_pearson: Some(0.9411),
                smile_mae: Some(0.0693),
            },
        }
    }

    /// The model with its weights on `device`.
    ///
    /// # Errors
    /// [`ModelError`] if the embedded file does not fit this build (a packaging error).
    pub fn load(self, device: &Device) -> Result<SavedModel, ModelError> {
        load_bytes(
            self.bytes(),
            Path::new(&format!("bundled:{}", self.name())),
            device,
        )
    }
}

impl std::fmt::Display for Pretrained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a bundled model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no bundled model is called {0:?}; bundled: default, ferplus-smile")]
pub struct UnknownPretrained(pub String);

impl FromStr for Pretrained {
    type Err = UnknownPretrained;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Pretrained::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownPretrained(name.to_owned()))
    }
}
