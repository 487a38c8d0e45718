//! Class imbalance: class weights for the loss, and a weighted random sampler.
//!
//! FER2013's disgust class is 1.5 % of Training; without weighting, a model can ignore it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{DataError, LabelledDataset};

/// How class weights are derived from class counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum ClassWeighting {
    /// `w_c ∝ 1 / n_c`.
    InverseFrequency,
    /// Cui et al. (CVPR 2019), "class-balanced loss": `w_c ∝ (1 − β) / (1 − β^{n_c})`.
    /// β → 0 gives equal weights, β → 1 inverse frequency; 0.999 – 0.9999 is usual.
    EffectiveNumber {
        /// The β of the effective number of samples, in `[0, 1)`.
        beta: f64,
    },
}

/// One weight per class, scaled so that the weights of the classes present average 1.
/// A class with no samples gets weight 0.
///
/// ```
/// use mien_data::sampling::{class_weights, ClassWeighting};
/// let w = class_weights(&[30, 10], ClassWeighting::InverseFrequency).unwrap();
/// assert_eq!(w, vec![0.5, 1.5]);
/// ```
///
/// # Errors
/// [`DataError::InvalidConfig`] when every count is zero or β is outside `[0, 1)`.
pub fn class_weights(counts: &[usize], weighting: ClassWeighting) -> Result<Vec<f32>, DataError> {
    let raw: Vec<f64> = match weighting {
        ClassWeighting::InverseFrequency => counts
            .iter()
            .map(|&n| if n == 0 { 0.0 } else { 1.0 / n as f64 })
            .collect(),
        ClassWeighting::EffectiveNumber { beta } => {
            if !(0.0..1.0).contains(&beta) {
                return Err(DataError::InvalidConfig(format!(
                    "effective-number beta = {beta} is not in [0, 1)"
                )));
            }
            counts
                .iter()
                .map(|&n| {
                    if n == 0 {
                        0.0
                    } else {
                        (1.0 - beta) / (1.0 - beta.powi(n.min(i32::MAX as usize) as i32))
                    }
                })
                .collect()
        }
    };
    let present = counts.iter().filter(|&&n| n > 0).count();
    let sum: f64 = raw.iter().sum();
    if present == 0 || sum <= 0.0 {
        return Err(DataError::InvalidConfig(
            "class weights need at least one non-empty class".into(),
        ));
    }
    Ok(raw
        .iter()
        .map(|w| (w * present as f64 / sum) as f32)
        .collect())
}

/// Draws indices with replacement, each with probability proportional to its weight;
/// a different, reproducible draw per epoch.
#[derive(Debug, Clone)]
pub struct WeightedSampler {
    cumulative: Vec<f64>,
    num_samples: usize,
    seed: u64,
}

impl WeightedSampler {
    /// A sampler over `weights.len()` items drawing `num_samples` indices per epoch.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] for a negative or non-finite weight, or all weights zero.
    pub fn new(weights: &[f32], num_samples: usize, seed: u64) -> Result<Self, DataError> {
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(weights.len());
        for (i, &w) in weights.iter().enumerate() {
            if !(w >= 0.0 && w.is_finite()) {
                return Err(DataError::InvalidConfig(format!(
                    "sampling weight {i} is {w}; weights must be finite and >= 0"
                )));
            }
            total += w as f64;
            cumulative.push(total);
        }
        if total <= 0.0 {
            return Err(DataError::InvalidConfig(
                "all sampling weights are zero".into(),
            ));
        }
        Ok(Self {
            cumulative,
            num_samples,
            seed,
        })
    }

    /// A sampler that draws every class about equally often (or as `weighting` says): each
    /// face weighs its class's weight. Draws one epoch = the dataset's size.
    ///
    /// # Errors
    /// [`DataError::MissingLabels`] for smile-intensity targets, which have no classes.
    pub fn balanced(
        dataset: &LabelledDataset,
        weighting: ClassWeighting,
        seed: u64,
    ) -> Result<Self, DataError> {
        let counts = dataset.class_counts();
        if counts.is_empty() {
            return Err(DataError::MissingLabels(
                "class-balanced sampling needs class targets, not smile intensity".into(),
            ));
        }
        let class_weights = class_weights(&counts, weighting)?;
        let weights: Vec<f32> = dataset
            .targets()
            .map(|t| t.class().map_or(0.0, |c| class_weights[c]))
            .collect();
        Self::new(&weights, dataset.len(), seed)
    }

    /// The indices of one epoch.
    pub fn epoch(&self, epoch: u64) -> Vec<usize> {
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let total = *self.cumulative.last().expect("at least one weight");
        (0..self.num_samples)
            .map(|_| {
                let u = rng.random::<f64>() * total;
                // First index whose cumulative weight exceeds u (zero weights are never hit).
                self.cumulative
                    .partition_point(|&c| c <= u)
                    .min(self.cumulative.len() - 1)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_number_by_hand() {
        // beta 0.5: n=1 → 0.5/0.5 = 1, n=2 → 0.5/0.75 = 2/3; scaled to mean 1: 1.2, 0.8.
        let w = class_weights(&[1, 2], ClassWeighting::EffectiveNumber { beta: 0.5 }).unwrap();
        assert!(
            (w[0] - 1.2).abs() < 1e-6 && (w[1] - 0.8).abs() < 1e-6,
            "{w:?}"
        );
        // beta 0: equal weights.
        assert_eq!(
            class_weights(&[5, 500], ClassWeighting::EffectiveNumber { beta: 0.0 }).unwrap(),
            vec![1.0, 1.0]
        );
        assert_eq!(
            class_weights(&[0, 4], ClassWeighting::InverseFrequency).unwrap(),
            vec![0.0, 1.0]
        );
        assert!(class_weights(&[0, 0], ClassWeighting::InverseFrequency).is_err());
        assert!(class_weights(&[1], ClassWeighting::EffectiveNumber { beta: 1.0 }).is_err());
    }

    #[test]
    fn sampler_frequencies_follow_the_weights() {
        let sampler = WeightedSampler::new(&[1.0, 0.0, 3.0], 40_000, 9).unwrap();
        let draws = sampler.epoch(0);
        let mut counts = [0usize; 3];
        for i in draws {
            counts[i] += 1;
        }
        assert_eq!(counts[1], 0, "a zero weight is never drawn");
        let share = counts[2] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.01, "share {share}");
    }

    #[test]
    fn sampler_is_reproducible_per_epoch_and_varies_between_epochs() {
        let sampler = WeightedSampler::new(&[1.0; 100], 50, 3).unwrap();
        assert_eq!(sampler.epoch(1), sampler.epoch(1));
        assert_ne!(sampler.epoch(1), sampler.epoch(2));
        assert!(WeightedSampler::new(&[0.0, 0.0], 5, 0).is_err());
        assert!(WeightedSampler::new(&[1.0, f32::NAN], 5, 0).is_err());
    }
}
