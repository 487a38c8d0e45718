//! # mien-detect
//!
//! Finding faces and eyes in photos: a Haar cascade engine that reads OpenCV's cascade files
//! and reproduces `detectMultiScale`, with OpenCV's frontal-face, eye and smile cascades
//! bundled ([`haar`]); and turning a detected face into a model input: eyes levelled,
//! margin, square, border padding, resampling ([`align`]).

pub mod align;
mod error;
pub mod eye_state;
pub mod eyes;
pub mod haar;

pub use error::DetectError;
pub use haar::HaarCascade;
