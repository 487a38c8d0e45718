//! From faces to `[N, C, H, W]` tensors on any device: a burn [`Batcher`] that augments,
//! applies the model's [`Preprocessing`] and mixes batches.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use image::GrayImage;
use mien_core::Preprocessing;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::augment::{Augmentation, apply_all};
use crate::mix::BatchMix;
use crate::{DataError, FaceItem, LabelMode};

/// The augmentation of an experiment: per-face steps and an optional batch mix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AugmentConfig {
    /// Per-face steps, applied in order.
    #[serde(default)]
    pub steps: Vec<Augmentation>,
    /// Mixup or CutMix on whole batches.
    #[serde(default)]
    pub mix: Option<BatchMix>,
}

impl AugmentConfig {
    /// Checks every step and the mix.
    ///
    /// # Errors
    /// The first invalid setting.
    pub fn validate(&self) -> Result<(), DataError> {
        self.steps.iter().try_for_each(Augmentation::validate)?;
        self.mix.as_ref().map_or(Ok(()), BatchMix::validate)
    }
}

/// A batch of faces on a device.
#[derive(Debug, Clone)]
pub struct FaceBatch {
    /// `[N, C, H, W]`, preprocessed for the model.
    pub images: Tensor<4>,
    /// `[N, K]` target probabilities (one-hot for hard labels; blended when a batch mix ran),
    /// or `[N, 1]` smile intensities.
    pub targets: Tensor<2>,
    /// `[N]` class of each face before mixing; `None` for smile intensity.
    pub classes: Option<Tensor<1, Int>>,
}

/// Turns [`FaceItem`]s into a [`FaceBatch`]: per-face augmentation (in parallel), the
/// model's preprocessing, then the batch mix.
///
/// Randomness is a pure function of (seed, epoch, face index), so batches are reproducible
/// whatever the number of loader threads. Call [`FaceBatcher::set_epoch`] before each epoch
/// so that faces are augmented differently every epoch.
#[derive(Debug, Clone)]
pub struct FaceBatcher {
    preprocessing: Preprocessing,
    augment: AugmentConfig,
    mode: LabelMode,
    seed: u64,
    epoch: Arc<AtomicU64>,
}

impl FaceBatcher {
    /// A batcher without augmentation (for evaluation).
    ///
    /// # Errors
    /// [`DataError::Preprocessing`] for an unusable preprocessing.
    pub fn new(preprocessing: Preprocessing, mode: LabelMode) -> Result<Self, DataError> {
        preprocessing.validate().map_err(DataError::Preprocessing)?;
        Ok(Self {
            preprocessing,
            augment: AugmentConfig::default(),
            mode,
            seed: 0,
            epoch: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Adds augmentation drawn from `seed`.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] for an invalid step, or a batch mix with smile targets.
    pub fn with_augmentation(
        mut self,
        augment: AugmentConfig,
        seed: u64,
    ) -> Result<Self, DataError> {
        augment.validate()?;
        if augment.mix.is_some() && self.mode == LabelMode::SmileIntensity {
            return Err(DataError::InvalidConfig(
                "mixup / cutmix need class targets, not smile intensity".into(),
            ));
        }
        self.augment = augment;
        self.seed = seed;
        Ok(self)
    }

    /// Sets the epoch that seeds augmentation (shared with clones of this batcher, such as
    /// the ones burn's data loader threads hold).
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::Relaxed);
    }

    /// Number of target values per face: 7 or 8 classes, or 1 intensity.
    pub fn num_targets(&self) -> usize {
        self.mode.label_set().map_or(1, |set| set.num_classes())
    }

    fn rng(&self, stream: u64) -> ChaCha8Rng {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let mut seed = self.seed;
        for part in [epoch, stream] {
            seed = (seed ^ part)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(29);
        }
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Builds a batch on `device`.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] for an empty batch or faces whose pixel count does not
    /// match their size.
    pub fn try_batch(&self, items: Vec<FaceItem>, device: &Device) -> Result<FaceBatch, DataError> {
        let n = items.len();
        if n == 0 {
            return Err(DataError::InvalidConfig(
                "cannot build a batch from zero faces".into(),
            ));
        }
        let k = self.num_targets();
        let mut targets: Vec<f32> = items
            .iter()
            .flat_map(|item| item.target.probabilities(k))
            .collect();
        let classes: Option<Vec<i64>> = self.mode.label_set().map(|_| {
            items
                .iter()
                .map(|item| item.target.class().unwrap_or(0) as i64)
                .collect()
        });
        let batch_stream = u64::MAX - items[0].index as u64;
        // The items are consumed: their pixels become the faces without a copy.
        let per_face: Vec<Vec<f32>> = items
            .into_par_iter()
            .map(|item| {
                let (index, len) = (item.index, item.pixels.len());
                let mut face = GrayImage::from_raw(item.width, item.height, item.pixels)
                    .ok_or_else(|| {
                        DataError::InvalidConfig(format!(
                            "face {index} has {len} pixels, not {}×{}",
                            item.width, item.height
                        ))
                    })?;
                if !self.augment.steps.is_empty() {
                    apply_all(&self.augment.steps, &mut face, &mut self.rng(index as u64));
                }
                self.preprocessing
                    .gray_values(&face)
                    .map_err(DataError::Preprocessing)
            })
            .collect::<Result<_, _>>()?;
        let mut images: Vec<f32> = per_face.concat();

        if let Some(mix) = &self.augment.mix {
            let shape = self.preprocessing.batch_shape(n);
            mix.apply(
                &mut images,
                &mut targets,
                n,
                (shape[1], shape[2], shape[3]),
                &mut self.rng(batch_stream),
            );
        }

        let images = self
            .preprocessing
            .tensor_from_values(images, device)
            .map_err(DataError::Preprocessing)?;
        let targets = Tensor::from_data(TensorData::new(targets, [n, k]), device);
        let classes = classes.map(|c| Tensor::from_data(TensorData::new(c, [n]), device));
        Ok(FaceBatch {
            images,
            targets,
            classes,
        })
    }
}

impl Batcher<FaceItem, FaceBatch> for FaceBatcher {
    /// # Panics
    /// burn's `Batcher` cannot return an error; this panics only on an empty batch or a
    /// malformed face, which [`crate::LabelledDataset`] never produces. Call
    /// [`FaceBatcher::try_batch`] to handle those as errors.
    fn batch(&self, items: Vec<FaceItem>, device: &Device) -> FaceBatch {
        self.try_batch(items, device)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Target;

    fn item(index: usize, value: u8, target: Target) -> FaceItem {
        FaceItem {
            index,
            pixels: vec![value; 48 * 48],
            width: 48,
            height: 48,
            target,
        }
    }

    fn device() -> Device {
        mien_core::device::cpu()
    }

    #[test]
    fn batch_shapes_targets_and_values() {
        let batcher = FaceBatcher::new(Preprocessing::default(), LabelMode::Fer2013).unwrap();
        let items = vec![item(0, 255, Target::Class(3)), item(1, 0, Target::Class(1))];
        let batch = batcher.try_batch(items, &device()).unwrap();
        assert_eq!(batch.images.dims(), [2, 1, 48, 48]);
        let targets = mien_core::read_f32(batch.targets).unwrap();
        assert_eq!(&targets[..7], &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let classes = batch
            .classes
            .unwrap()
            .into_data()
            .try_into_vec_as::<i64>()
            .unwrap();
        assert_eq!(classes, vec![3, 1]);
        let images = mien_core::read_f32(batch.images).unwrap();
        assert_eq!((images[0], images[48 * 48]), (1.0, 0.0));
    }

    #[test]
    fn rgb_models_get_three_channels_and_smile_targets_one_column() {
        let batcher = FaceBatcher::new(
            Preprocessing::rgb_imagenet(64, 64),
            LabelMode::SmileIntensity,
        )
        .unwrap();
        let batch = batcher
            .try_batch(vec![item(0, 9, Target::Intensity(0.25))], &device())
            .unwrap();
        assert_eq!(batch.images.dims(), [1, 3, 64, 64]);
        assert_eq!(mien_core::read_f32(batch.targets).unwrap(), vec![0.25]);
        assert!(batch.classes.is_none());
    }

    #[test]
    fn augmentation_depends_on_seed_epoch_and_face_not_on_batch_order() {
        let augment = AugmentConfig {
            steps: vec![Augmentation::RandomErasing {
                min_area: 0.1,
                max_area: 0.3,
                p: 1.0,
            }],
            mix: None,
        };
        let batcher = FaceBatcher::new(Preprocessing::default(), LabelMode::Fer2013)
            .unwrap()
            .with_augmentation(augment, 42)
            .unwrap();
        let faces = |order: [usize; 2]| order.map(|i| item(i, 128, Target::Class(0))).to_vec();
        let values = |items| {
            mien_core::read_f32(batcher.try_batch(items, &device()).unwrap().images).unwrap()
        };
        let forward = values(faces([0, 1]));
        let backward = values(faces([1, 0]));
        let plane = 48 * 48;
        assert_eq!(
            forward[..plane],
            backward[plane..],
            "face 0 is augmented the same in either position"
        );
        assert_ne!(
            forward[..plane],
            forward[plane..],
            "different faces, different augmentation"
        );
        batcher.set_epoch(1);
        assert_ne!(
            values(faces([0, 1])),
            forward,
            "a new epoch, a new augmentation"
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        let batcher = FaceBatcher::new(Preprocessing::default(), LabelMode::Fer2013).unwrap();
        assert!(batcher.try_batch(Vec::new(), &device()).is_err());
        let mut broken = item(0, 1, Target::Class(0));
        broken.pixels.truncate(10);
        assert!(batcher.try_batch(vec![broken], &device()).is_err());
        let mix = AugmentConfig {
            steps: vec![],
            mix: Some(BatchMix::Mixup { alpha: 0.2, p: 1.0 }),
        };
        let smile = FaceBatcher::new(Preprocessing::default(), LabelMode::SmileIntensity).unwrap();
        assert!(smile.with_augmentation(mix, 0).is_err());
    }
}
