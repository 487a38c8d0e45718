//! The one error type of mien-train.

use std::path::{Path, PathBuf};

/// Everything that can stop training or evaluation, with where and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// An experiment setting is invalid.
    #[error("invalid experiment config at {location}: {problem}")]
    Config {
        /// The file position or field.
        location: String,
        /// What is wrong, and the accepted values.
        problem: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The dataset could not be loaded.
    #[error("data: {0}")]
    Data(#[from] mien_data::DataError),
    /// The data holds no faces for what was asked.
    #[error("no faces: {0}")]
    NoFaces(String),
    /// One face could not be prepared for the network.
    #[error("face {face}: {source}")]
    Face {
        /// Where the face comes from (file, or CSV row).
        face: String,
        /// What was wrong.
        source: mien_core::Error,
    },
    /// Finding the data folder, preparing faces for the network or reading its outputs
    /// failed.
    #[error(transparent)]
    Core(#[from] mien_core::Error),
    /// A model file could not be read or written.
    #[error(transparent)]
    Model(#[from] mien_models::weights::ModelError),
    /// A checkpoint is missing, incomplete or from another run.
    #[error("checkpoint {}: {problem}", path.display())]
    Checkpoint {
        /// The checkpoint folder or file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The run folder already holds a run and `--resume` was not given.
    #[error(
        "{} already holds a training run (checkpoint found): pass --resume to continue it, \
         or choose another output folder",
        .0.display()
    )]
    RunExists(PathBuf),
    /// The loss became NaN or infinite.
    #[error(
        "training diverged at epoch {epoch}, step {step}: loss is {loss}; lower the learning rate or enable gradient clipping"
    )]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch (1-based).
        step: usize,
        /// The non-finite loss.
        loss: f32,
    },
    /// Drawing a plot failed.
    #[error("plot {}: {problem}", path.display())]
    Plot {
        /// The image being drawn.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

impl TrainError {
    /// An [`TrainError::Io`] for `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}
