//! # mien-data
//!
//! FER2013 and FER+ in every layout people have them, checked row by row, decoded once into
//! memory, labelled in the mode an experiment needs, augmented and batched for any backbone.
//!
//! ```no_run
//! use mien_core::Preprocessing;
//! use mien_data::{load, FaceBatcher, LabelMode, LabelledDataset, LoadOptions, Split};
//!
//! // Any layout: the Kaggle CSV, Kaggle folders, the FER+ folders, or $MIEN_DATA/fer2013.
//! let loaded = load("../shared/fer2013", &LoadOptions::default())?;
//! let train = LabelledDataset::new(loaded.dataset.split(Split::Training), LabelMode::Fer2013)?;
//! assert_eq!(train.class_counts()[1], 436); // disgust
//! let batcher = FaceBatcher::new(Preprocessing::default(), LabelMode::Fer2013)?;
//! let batch = batcher.try_batch((0..64).filter_map(|i| train.item(i)).collect(), &mien_core::device::cpu())?;
//! assert_eq!(batch.images.dims(), [64, 1, 48, 48]);
//! # Ok::<(), mien_data::DataError>(())
//! ```
//!
//! | layout | loader |
//! | --- | --- |
//! | Kaggle CSV `emotion,pixels,Usage` | [`sources::kaggle_csv`] |
//! | Kaggle folders `train/<class>/*.jpg` | [`sources::kaggle_folders`] |
//! | FER+ `FER2013Train/fer*.png` + `fer2013new.csv` | [`sources::ferplus`] |
//! | row-indexed `<Split>/<class>/<row>.png` + `labels.csv` (`$MIEN_DATA/fer2013`) | [`sources::row_indexed`] |

pub mod augment;
mod batcher;
mod dataset;
mod error;
mod labels;
mod load;
pub mod mix;
pub mod sampling;
pub mod sources;
mod split;
mod votes;

pub use batcher::{AugmentConfig, FaceBatch, FaceBatcher};
pub use dataset::{FaceDataset, FaceRecord};
pub use error::DataError;
pub use labels::{FaceItem, LabelMode, LabelledDataset, Resampled, Target};
pub use load::{LoadOptions, Loaded, SizePolicy, Skipped, load};
pub use split::Split;
pub use votes::{MajorityRule, Votes};
