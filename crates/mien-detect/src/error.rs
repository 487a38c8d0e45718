//! The one error type of mien-detect.

use std::path::PathBuf;

/// What can go wrong when loading a detector. Detecting never fails on a valid image:
/// no face is an empty result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// A cascade file is malformed or of an unsupported kind.
    #[error("cascade {origin}: {problem}")]
    Cascade {
        /// The file, or "bundled cascade".
        origin: String,
        /// What is wrong.
        problem: String,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Bundled or given network weights do not fit the network, or cannot be read or
    /// written.
    #[error("{network} weights: {problem}")]
    Weights {
        /// The network: `"BlazeFace"` or `"eyes-open classifier"`.
        network: &'static str,
        /// What is wrong.
        problem: String,
        /// The error underneath.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An annotated benchmark (boxes file or photo) could not be read.
    #[error("benchmark: {0}")]
    Benchmark(String),
    /// Detection parameters are out of range.
    #[error("invalid detection parameter: {0}")]
    Parameter(String),
}

impl DetectError {
    /// [`DetectError::Weights`] for `network`, caused by `source`.
    pub(crate) fn weights_from(
        network: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DetectError::Weights {
            network,
            problem: source.to_string(),
            source: Box::new(source),
        }
    }
}
