//! The error type of mien-data.

use std::path::PathBuf;

/// Everything that can go wrong reading a dataset; each message names the file (and line or
/// field) and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A malformed row of a CSV file.
    #[error("{path}, line {line}: {problem}")]
    BadRow {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong, naming the field.
        problem: String,
    },

    /// A CSV file without a column the layout needs.
    #[error("{path}: no column {column:?} in the header; expected columns {expected}")]
    MissingColumn {
        /// The CSV file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The header the layout expects.
        expected: String,
    },

    /// A split name that is not Training, PublicTest or PrivateTest (or an alias).
    #[error(
        "unknown split {0:?}: expected Training, PublicTest or PrivateTest (or train, valid, test, FER2013Train, FER2013Valid, FER2013Test)"
    )]
    UnknownSplit(String),

    /// A class folder the layout requires is absent.
    #[error(
        "missing class folder {path}: the Kaggle layout has one folder per class (angry, disgust, fear, happy, neutral, sad, surprise)"
    )]
    MissingClassFolder {
        /// The folder that should exist.
        path: PathBuf,
    },

    /// An image that could not be decoded.
    #[error("cannot decode image {path}: {}", decoder_message(source))]
    BadImage {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: mien_core::Error,
    },

    /// A FER+ image without a row in the votes file.
    #[error("{path}: no votes for this image in {votes}")]
    NoVotes {
        /// The image.
        path: PathBuf,
        /// The votes file (or files) looked in.
        votes: String,
    },

    /// Faces could not be prepared as the preprocessing asks.
    #[error("cannot preprocess: {0}")]
    Preprocessing(#[source] mien_core::Error),

    /// An image that is not the dataset's size, when resizing is off.
    #[error(
        "{path} is {width}×{height}, not {expected_width}×{expected_height}; resize it or load with SizePolicy::Resize"
    )]
    WrongSize {
        /// The file.
        path: PathBuf,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The dataset's width.
        expected_width: u32,
        /// The dataset's height.
        expected_height: u32,
    },

    /// A source with no usable image.
    #[error("no images found in {path}: {hint}")]
    EmptyDataset {
        /// The folder or file.
        path: PathBuf,
        /// What the loader looked for.
        hint: String,
    },

    /// A folder that matches none of the known layouts.
    #[error("{path} is not a known FER2013 layout: {hint}")]
    UnknownLayout {
        /// The folder.
        path: PathBuf,
        /// What was looked for.
        hint: String,
    },

    /// A dataset operation that needs labels the faces do not have.
    #[error("{0}")]
    MissingLabels(String),

    /// An augmentation or sampling setting out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

/// The decoder's own words for a file that did not decode: the path is said already.
fn decoder_message(error: &mien_core::Error) -> String {
    match error {
        mien_core::Error::ImageRead { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

impl DataError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
