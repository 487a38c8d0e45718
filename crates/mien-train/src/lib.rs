//! # mien-train
//!
//! Training and evaluation for any mien backbone on any label mode and backend.
//!
//! - One [`ExperimentConfig`] (serde JSON) describes a run: architecture, data and split,
//!   label mode, augmentation, loss, optimiser, schedule, epochs, batch size, seed.
//! - [`train`] writes a run folder with a checkpoint after every epoch; with
//!   [`TrainOptions::resume`] an interrupted run (even `kill -9`) continues from its last
//!   completed epoch and ends with the same weights as an uninterrupted run.
//! - [`evaluate::predict`] and [`Report`] measure any saved model on any split, with optional
//!   test-time augmentation; [`plots`] draws training curves and confusion matrices.
//!
//! ```no_run
//! use mien_train::{ExperimentConfig, TrainOptions, train};
//! use mien_models::registry::Architecture;
//!
//! let config = ExperimentConfig::new("baseline", Architecture::BaselineCnn, 30);
//! let outcome = train(&config, "runs/baseline".as_ref(), TrainOptions::new(mien_core::device::cpu()))?;
//! println!("{}", outcome.report.summary());
//! # Ok::<(), mien_train::TrainError>(())
//! ```
//!
//! Built on burn-optim (AdamW, SGD, gradient clipping, warmup / cosine / step schedulers)
//! rather than burn-train's `Learner`: the loop here needs soft-label targets, a
//! metric-driven plateau schedule, and checkpoints that include the sampler and
//! augmentation state so that resuming is exact.

pub mod checkpoint;
pub mod config;
mod error;
pub mod evaluate;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod plots;
pub mod progress;
pub mod schedule;
pub mod trainer;

pub use config::{EarlyStoppingConfig, ExperimentConfig, ModelConfig, Monitor, TtaConfig};
pub use error::TrainError;
pub use evaluate::{Predictions, Report, predict};
pub use progress::Progress;
pub use trainer::{EpochRecord, TrainOptions, TrainOutcome, train, train_on};
