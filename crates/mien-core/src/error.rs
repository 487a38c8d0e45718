//! The error type of mien-core.

use std::path::PathBuf;

use crate::{DeviceChoice, LabelSet};

/// Everything that can go wrong in mien-core; each message says what, where and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A string that names no emotion.
    #[error(
        "unknown emotion {0:?}: expected one of angry, disgust, fear, happy, sad, surprise, neutral, contempt"
    )]
    UnknownEmotion(String),

    /// A string that names no label set.
    #[error("unknown label set {0:?}: expected \"fer2013\" or \"ferplus\"")]
    UnknownLabelSet(String),

    /// A probability vector whose length does not match its label set.
    #[error("{label_set} has {expected} classes but {actual} probabilities were given")]
    ClassCountMismatch {
        /// The label set the probabilities claim to follow.
        label_set: LabelSet,
        /// Its class count.
        expected: usize,
        /// The vector's length.
        actual: usize,
    },

    /// An environment variable with a value mien does not understand.
    #[error("{variable}={value:?} is not a valid setting: use {expected}")]
    InvalidSetting {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What it may be.
        expected: &'static str,
    },

    /// A `MIEN_DEVICE` value that names no backend.
    #[error(
        "unknown device {0:?} (from MIEN_DEVICE): use cpu, wgpu, wgpu:cpu, cuda, cuda:N or ndarray"
    )]
    UnknownDevice(String),

    /// A backend was asked for whose Cargo feature is off.
    #[error(
        "device {choice} needs mien built with `--features {feature}`; this build has: {compiled}. \
         Rebuild with the feature or set MIEN_DEVICE to one of those"
    )]
    BackendNotCompiled {
        /// What was asked for.
        choice: DeviceChoice,
        /// The feature that would compile it in.
        feature: &'static str,
        /// The choices this build offers, comma-separated.
        compiled: String,
    },

    /// A [`crate::Preprocessing`] that cannot be applied.
    #[error("invalid preprocessing: {0}")]
    InvalidPreprocessing(String),

    /// An image with a zero side.
    #[error("image is {width}×{height}: an empty image has no face to read")]
    EmptyImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },

    /// A batch of no images.
    #[error("cannot build a batch from zero images")]
    EmptyBatch,

    /// Tensor or buffer dimensions that do not fit.
    #[error("shape mismatch: expected {expected}, got {actual}")]
    ShapeMismatch {
        /// What was expected, in words.
        expected: String,
        /// What was found.
        actual: String,
    },

    /// A tensor's data could not be read back.
    #[error("could not read tensor data: {0}")]
    TensorData(String),

    /// An image file that could not be opened or decoded.
    #[error("cannot read image {path}: {source} (is it a PNG/JPEG file, complete and readable?)")]
    ImageRead {
        /// The file.
        path: PathBuf,
        /// The decoder's or file system's error.
        #[source]
        source: image::ImageError,
    },

    /// An image file too large to decode in bounded memory.
    #[error(
        "image {path} is {width}×{height} pixels, over the {limit} MP decoding limit, and cannot be shrunk while decoding ({reason}); resize it first",
        limit = crate::image_io::MAX_DECODED_PIXELS / 1_000_000
    )]
    ImageTooLarge {
        /// The file.
        path: PathBuf,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// Why it cannot be shrunk.
        reason: String,
    },

    /// The research-data folder could not be found.
    #[error("research data not found: {0}")]
    DataDirNotFound(String),

    /// A face detector failed.
    #[error("face detector {detector} failed: {source}")]
    Detection {
        /// The detector's name.
        detector: String,
        /// Its error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
