//! Turning records into training targets: hard FER2013 labels, FER+ majority votes, FER+
//! vote distributions, or smile intensity.

use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};

use mien_core::LabelSet;
use serde::{Deserialize, Serialize};

use crate::{DataError, FaceDataset, FaceRecord, MajorityRule};

/// Which target a face is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum LabelMode {
    /// FER2013's hard label (7 classes).
    #[default]
    Fer2013,
    /// The FER+ majority vote (8 classes) under a [`MajorityRule`].
    FerPlusMajority {
        /// How the majority is decided.
        #[serde(default)]
        rule: MajorityRule,
    },
    /// The FER+ vote distribution as soft labels (8 classes).
    FerPlusDistribution,
    /// Smile intensity: happiness votes / emotion votes, in `[0, 1]`.
    SmileIntensity,
}

impl LabelMode {
    /// The label set of the classes, or `None` for smile intensity (a regression target).
    pub fn label_set(self) -> Option<LabelSet> {
        match self {
            LabelMode::Fer2013 => Some(LabelSet::Fer2013),
            LabelMode::FerPlusMajority { .. } | LabelMode::FerPlusDistribution => {
                Some(LabelSet::FerPlus)
            }
            LabelMode::SmileIntensity => None,
        }
    }

    /// The target of one record, or `None` when it has no usable label in this mode (no
    /// FER2013 label, no votes, or votes without a majority or dominated by unknown / NF).
    pub fn target(self, record: &FaceRecord) -> Option<Target> {
        match self {
            LabelMode::Fer2013 => record.fer2013.map(|l| Target::Class(l as usize)),
            LabelMode::FerPlusMajority { rule } => record.votes?.majority(rule).map(Target::Class),
            LabelMode::FerPlusDistribution => {
                record.votes?.distribution().map(Target::Distribution)
            }
            LabelMode::SmileIntensity => record.votes?.smile_intensity().map(Target::Intensity),
        }
    }
}

/// The training target of one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// A class index of the mode's label set.
    Class(usize),
    /// A probability per FER+ class.
    Distribution([f32; 8]),
    /// A value in `[0, 1]`.
    Intensity(f32),
}

impl Target {
    /// The class with the highest probability (the class itself for hard labels); `None`
    /// for an intensity.
    pub fn class(&self) -> Option<usize> {
        match self {
            Target::Class(c) => Some(*c),
            Target::Distribution(p) => Some(
                p.iter()
                    .enumerate()
                    .fold(
                        (0, f32::MIN),
                        |best, (i, &v)| if v > best.1 { (i, v) } else { best },
                    )
                    .0,
            ),
            Target::Intensity(_) => None,
        }
    }

    /// The target as a probability vector over `num_classes` (one-hot for a class).
    pub fn probabilities(&self, num_classes: usize) -> Vec<f32> {
        match self {
            Target::Class(c) => (0..num_classes)
                .map(|i| if i == *c { 1.0 } else { 0.0 })
                .collect(),
            Target::Distribution(p) => p.iter().copied().take(num_classes).collect(),
            Target::Intensity(v) => vec![*v],
        }
    }
}

/// One face ready for batching: its pixels and its target.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceItem {
    /// The face's index in its dataset (seeds its augmentation).
    pub index: usize,
    /// Row-major grayscale pixels.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// What the model should predict.
    pub target: Target,
}

/// The faces of a [`FaceDataset`] that have a target in one [`LabelMode`]; a burn
/// [`Dataset`](burn::data::dataset::Dataset).
#[derive(Debug, Clone)]
pub struct LabelledDataset {
    faces: Arc<FaceDataset>,
    items: Vec<(usize, Target)>,
    mode: LabelMode,
    unlabelled: usize,
}

impl LabelledDataset {
    /// Labels `faces` in `mode`; faces without a target in that mode are left out and counted
    /// in [`LabelledDataset::unlabelled`].
    ///
    /// # Errors
    /// [`DataError::MissingLabels`] when no face has a target (e.g. FER2013 labels asked of
    /// the FER+ layout).
    pub fn new(faces: impl Into<Arc<FaceDataset>>, mode: LabelMode) -> Result<Self, DataError> {
        let faces = faces.into();
        let items: Vec<_> = faces
            .records()
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, mode.target(r)?)))
            .collect();
        if items.is_empty() {
            return Err(DataError::MissingLabels(format!(
                "none of the {} faces has a {mode:?} target: FER2013 labels need a FER2013 source, \
                 FER+ modes need FER+ votes",
                faces.len()
            )));
        }
        let unlabelled = faces.len() - items.len();
        Ok(Self {
            faces,
            items,
            mode,
            unlabelled,
        })
    }

    /// The label mode.
    pub fn mode(&self) -> LabelMode {
        self.mode
    }

    /// How many faces of the source had no target in this mode.
    pub fn unlabelled(&self) -> usize {
        self.unlabelled
    }

    /// Number of labelled faces.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none (never true for a constructed dataset).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The targets, in order.
    pub fn targets(&self) -> impl Iterator<Item = Target> + '_ {
        self.items.iter().map(|&(_, t)| t)
    }

    /// Number of faces per class (by [`Target::class`]); empty for smile intensity.
    pub fn class_counts(&self) -> Vec<usize> {
        let Some(set) = self.mode.label_set() else {
            return Vec::new();
        };
        let mut counts = vec![0; set.num_classes()];
        for class in self.targets().filter_map(|t| t.class()) {
            counts[class] += 1;
        }
        counts
    }

    /// The record (split, source, all labels) of face `index` of the labelled faces.
    pub fn record(&self, index: usize) -> Option<&FaceRecord> {
        let &(face, _) = self.items.get(index)?;
        self.faces.record(face)
    }

    /// Face `index` (of the labelled faces) with its target.
    pub fn item(&self, index: usize) -> Option<FaceItem> {
        let &(face, target) = self.items.get(index)?;
        Some(FaceItem {
            index,
            pixels: self.faces.pixels(face)?.to_vec(),
            width: self.faces.width(),
            height: self.faces.height(),
            target,
        })
    }
}

impl Dataset<FaceItem> for LabelledDataset {
    fn get(&self, index: usize) -> Result<FaceItem, DatasetError> {
        self.item(index)
            .ok_or_else(|| out_of_range(index, self.len()))
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

fn out_of_range(index: usize, len: usize) -> DatasetError {
    DatasetError::new(DataError::InvalidConfig(format!(
        "face index {index} is out of range for a dataset of {len}"
    )))
}

/// A view of a [`LabelledDataset`] through a list of indices, e.g. one epoch of a
/// [`WeightedSampler`](crate::sampling::WeightedSampler): item `i` is face `indices[i]`.
#[derive(Debug, Clone)]
pub struct Resampled {
    dataset: Arc<LabelledDataset>,
    indices: Vec<usize>,
}

impl Resampled {
    /// The faces of `dataset` at `indices`, in that order (repeats allowed).
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] when an index is out of range.
    pub fn new(dataset: Arc<LabelledDataset>, indices: Vec<usize>) -> Result<Self, DataError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
            return Err(DataError::InvalidConfig(format!(
                "sample index {bad} is out of range for a dataset of {}",
                dataset.len()
            )));
        }
        Ok(Self { dataset, indices })
    }
}

impl Dataset<FaceItem> for Resampled {
    fn get(&self, index: usize) -> Result<FaceItem, DatasetError> {
        let face = *self
            .indices
            .get(index)
            .ok_or_else(|| out_of_range(index, self.len()))?;
        self.dataset.get(face)
    }

    fn len(&self) -> usize {
        self.indices.len()
    }
}
