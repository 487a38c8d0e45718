//! # mien-detect
//!
//! Finding faces and eyes in photos: a Haar cascade engine that reads OpenCV's cascade files
//! and reproduces `detectMultiScale`, with OpenCV's frontal-face, eye and smile cascades
//! bundled ([`haar`]); MediaPipe's BlazeFace CNN with face key points on any burn backend
//! ([`blazeface`]); and turning a detected face into a model input: eyes levelled,
//! margin, square, border padding, resampling ([`align`]); and MediaPipe's 468-point face
//! mesh ([`face_mesh`]).

pub mod align;
pub mod blazeface;
mod error;
pub mod evaluation;
pub mod eye_state;
pub mod eyes;
pub mod face_mesh;
pub mod haar;

pub use blazeface::{BlazeFaceDetector, BlazeFaceParams, Engine, FaceDetection};
pub use error::DetectError;
pub use haar::HaarCascade;
