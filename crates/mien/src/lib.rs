//! # mien
//!
//! Read faces: find every face in a photo, say which expression each shows (7 FER2013
//! emotions, or 8 with FER+ contempt), score each smile from 1 to 10, and rate the photo
//! ("is everyone smiling, eyes open?"). Models and detector are bundled: no download.
//!
//! The README's example; `mien` is the only dependency it needs:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let analyzer = mien::Analyzer::new()?;               // BlazeFace + bundled FER+ model, CPU
//! let analysis = analyzer.analyze(&mien::open_image("group.jpg")?)?;
//! for face in &analysis.faces {
//!     println!("{} {} {:.0}% smile {:.1}", face.emoji, face.emotion,
//!              100.0 * face.emotion_probability, face.smile.value());
//! }
//! // Swap parts: any FaceDetector, any mien-models model file, another device.
//! let device = mien::select_device()?;
//! let analyzer = mien::Analyzer::builder()
//!     .detector(Box::new(mien::detect::haar::HaarFaceDetector::frontal_face(Default::default())))
//!     .model(mien::models::weights::load("runs/my_run/best.safetensors", &device)?)
//!     .device(device)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! [`Analyzer::builder`] swaps the detector (any [`FaceDetector`]), the model (a
//! [`SavedModel`] of any architecture of `mien-models`, or a [`Pretrained`] one), the device
//! (CPU, wgpu, CUDA) or treats each image as one pre-cropped face. The crates behind it are
//! re-exported whole as [`detect`] and [`models`], and the types its API takes and returns at
//! the top level. Drawing an analysis on its photo and analysing whole folders are the
//! `mien-cli` crate's (with the `mien` command), so that this library needs no font
//! renderer, CSV writer or folder walker.

mod analysis;
mod analyzer;
pub mod happier;
pub mod video;

pub use analysis::{Analysis, FaceAnalysis, FaceRow, Landmarks};
pub use analyzer::{AnalyzeError, Analyzer, AnalyzerBuilder};
pub use happier::HappierEdit;
pub use mien_core::{
    Detection, Emotion, EmotionProbabilities, FaceBox, FaceDetector, FaceKeyPoints, LabelSet,
    WholeImage, decode_image, image, open_image, select_device,
};
pub use mien_detect::{BlazeFaceDetector, DetectError};
pub use mien_models::pretrained::Pretrained;
pub use mien_models::weights::{ModelError, SavedModel};
pub use mien_score::{SmileLevel, SmileScore};

/// The device a model runs on (burn's): the CPU, a wgpu adapter or a CUDA GPU; see
/// [`select_device`].
pub use burn::tensor::Device;

/// Face detectors and their parts: BlazeFace, the Haar cascades, eye finding, alignment
/// (the `mien-detect` crate).
pub use mien_detect as detect;

/// The networks, their weight files and the bundled models (the `mien-models` crate).
pub use mien_models as models;

/// Shared types, preprocessing, devices and the network descriptions every engine runs
/// (the `mien-core` crate).
pub use mien_core as core;
