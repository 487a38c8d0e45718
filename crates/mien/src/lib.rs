//! # mien
//!
//! Read faces: find every face in a photo, say which expression each shows (7 FER2013
//! emotions, or 8 with FER+ contempt), score each smile from 1 to 10, and rate the photo
//! ("is everyone smiling, eyes open?"). Models and detector are bundled: no download.
//!
//! ```no_run
//! let analyzer = mien::Analyzer::new()?;
//! let photo = mien::open_image("group.jpg")?;
//! let analysis = analyzer.analyze(&photo)?;
//! println!("{} faces, rating {:?}", analysis.faces.len(), analysis.rating);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Analyzer::builder`] swaps the detector (any `mien_core::FaceDetector`), the model (any
//! architecture of `mien-models`), the device (CPU, wgpu, CUDA) or treats each image as one
//! pre-cropped face. [`annotate`] draws an analysis on the photo; [`batch`] analyses a
//! whole folder.

mod analysis;
mod analyzer;
pub mod annotate;
pub mod batch;

pub use analysis::{Analysis, FaceAnalysis};
pub use analyzer::{AnalyzeError, Analyzer, AnalyzerBuilder};
pub use mien_core::{Emotion, EmotionProbabilities, FaceBox, LabelSet, open_image};
pub use mien_models::pretrained::Pretrained;
pub use mien_score::{SmileLevel, SmileScore};
