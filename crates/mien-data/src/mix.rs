//! Batch-level augmentation: mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019).
//!
//! Both blend each face with another face of the same batch and blend the targets by the
//! same proportion, so they need probability targets (one-hot or soft).

use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use crate::DataError;

/// Which batch mixing to apply, with its Beta(α, α) parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BatchMix {
    /// `x ← λ·x + (1 − λ)·x[perm]`, `y` likewise.
    Mixup {
        /// Beta distribution parameter (0.2 – 0.4 is usual).
        alpha: f32,
        /// Probability of mixing a given batch.
        p: f32,
    },
    /// Pastes a random box of `x[perm]` into `x`; `λ` is the unpasted area fraction.
    Cutmix {
        /// Beta distribution parameter (1.0 is usual).
        alpha: f32,
        /// Probability of mixing a given batch.
        p: f32,
    },
}

impl BatchMix {
    /// Checks `alpha > 0` and `p` in `[0, 1]`.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`].
    pub fn validate(&self) -> Result<(), DataError> {
        let (BatchMix::Mixup { alpha, p } | BatchMix::Cutmix { alpha, p }) = *self;
        if alpha > 0.0 && alpha.is_finite() && (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            Err(DataError::InvalidConfig(format!(
                "{self:?}: need alpha > 0 and p in [0, 1]"
            )))
        }
    }

    /// Mixes a batch in place. `images` holds `n` faces of `plane = C × H × W` values laid
    /// out `[C, H, W]` with the given `height` and `width`; `targets` holds `n` rows of `k`
    /// probabilities. Returns the `λ` used, or `None` when the batch was left as it is.
    pub fn apply(
        &self,
        images: &mut [f32],
        targets: &mut [f32],
        n: usize,
        (channels, height, width): (usize, usize, usize),
        rng: &mut impl Rng,
    ) -> Option<f32> {
        let (BatchMix::Mixup { alpha, p } | BatchMix::Cutmix { alpha, p }) = *self;
        if n < 2 || rng.random::<f32>() >= p {
            return None;
        }
        let lambda = Beta::new(alpha, alpha).ok()?.sample(rng);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(rng);
        let plane = channels * height * width;
        let k = targets.len() / n;
        let source_images = images.to_vec();
        let source_targets = targets.to_vec();
        let lambda = match self {
            BatchMix::Mixup { .. } => {
                for (i, &j) in perm.iter().enumerate() {
                    for (a, b) in images[i * plane..(i + 1) * plane]
                        .iter_mut()
                        .zip(&source_images[j * plane..])
                    {
                        *a = lambda * *a + (1.0 - lambda) * b;
                    }
                }
                lambda
            }
            BatchMix::Cutmix { .. } => {
                let cut = (1.0 - lambda).sqrt();
                let (cw, ch) = (
                    (width as f32 * cut) as usize,
                    (height as f32 * cut) as usize,
                );
                let (cx, cy) = (rng.random_range(0..width), rng.random_range(0..height));
                let (x0, x1) = (cx.saturating_sub(cw / 2), (cx + cw / 2).min(width));
                let (y0, y1) = (cy.saturating_sub(ch / 2), (cy + ch / 2).min(height));
                for (i, &j) in perm.iter().enumerate() {
                    for c in 0..channels {
                        for y in y0..y1 {
                            let row = c * height * width + y * width;
                            let (dst, src) = (i * plane + row, j * plane + row);
                            images[dst + x0..dst + x1]
                                .copy_from_slice(&source_images[src + x0..src + x1]);
                        }
                    }
                }
                1.0 - ((x1 - x0) * (y1 - y0)) as f32 / (width * height) as f32
            }
        };
        for (i, &j) in perm.iter().enumerate() {
            for (a, b) in targets[i * k..(i + 1) * k]
                .iter_mut()
                .zip(&source_targets[j * k..])
            {
                *a = lambda * *a + (1.0 - lambda) * b;
            }
        }
        Some(lambda)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn mixup_blends_images_and_targets_by_the_same_lambda() {
        // Two 1×1×2 faces, one-hot targets over 2 classes.
        let mut images = vec![0.0, 0.0, 1.0, 1.0];
        let mut targets = vec![1.0, 0.0, 0.0, 1.0];
        let mix = BatchMix::Mixup { alpha: 0.4, p: 1.0 };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let lambda = mix
            .apply(&mut images, &mut targets, 2, (1, 1, 2), &mut rng)
            .unwrap();
        for i in 0..2 {
            let row = &targets[2 * i..2 * i + 2];
            assert!(
                (row[0] + row[1] - 1.0).abs() < 1e-6,
                "targets stay distributions"
            );
            // Face 0 is all 0, face 1 all 1: a mixed pixel equals the mixed weight of class 1.
            assert!((images[2 * i] - row[1]).abs() < 1e-6);
        }
        assert!((0.0..=1.0).contains(&lambda));
    }

    #[test]
    fn cutmix_pastes_a_box_and_weights_targets_by_area() {
        let (n, h, w) = (4, 8, 8);
        let mut images: Vec<f32> = (0..n).flat_map(|i| vec![i as f32; h * w]).collect();
        let mut targets: Vec<f32> = (0..n)
            .flat_map(|i| (0..n).map(move |c| if c == i { 1.0 } else { 0.0 }))
            .collect();
        let mix = BatchMix::Cutmix { alpha: 1.0, p: 1.0 };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let lambda = mix
            .apply(&mut images, &mut targets, n, (1, h, w), &mut rng)
            .unwrap();
        for i in 0..n {
            let face = &images[i * h * w..(i + 1) * h * w];
            let own = face.iter().filter(|&&v| v == i as f32).count() as f32 / (h * w) as f32;
            // Unless paired with itself, the kept fraction of its own pixels is λ.
            if targets[i * n + i] < 1.0 {
                assert!(
                    (own - lambda).abs() < 1e-6,
                    "face {i}: own {own}, lambda {lambda}"
                );
            }
            let row_sum: f32 = targets[i * n..(i + 1) * n].iter().sum();
            assert!((row_sum - 1.0).abs() < 1e-6);
        }
    }

    proptest::proptest! {
        #[test]
        fn mixing_keeps_shapes_value_ranges_and_distributions(
            n in 2usize..6, cutmix in proptest::bool::ANY, seed in proptest::num::u64::ANY,
            alpha in 0.1f32..2.0,
        ) {
            let (c, h, w, k) = (1, 6, 5, 3);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut images: Vec<f32> = (0..n * c * h * w).map(|_| rng.random_range(-2.0..3.0)).collect();
            let mut targets: Vec<f32> = (0..n).flat_map(|i| (0..k).map(move |j| if j == i % k { 1.0 } else { 0.0 })).collect();
            let (lo, hi) = images.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let mix = if cutmix { BatchMix::Cutmix { alpha, p: 1.0 } } else { BatchMix::Mixup { alpha, p: 1.0 } };
            let lambda = mix.apply(&mut images, &mut targets, n, (c, h, w), &mut rng).unwrap();
            proptest::prop_assert!((0.0..=1.0).contains(&lambda));
            proptest::prop_assert_eq!(images.len(), n * c * h * w);
            proptest::prop_assert!(images.iter().all(|&v| v >= lo - 1e-5 && v <= hi + 1e-5));
            for row in targets.chunks(k) {
                proptest::prop_assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                proptest::prop_assert!(row.iter().all(|&p| (0.0..=1.0 + 1e-6).contains(&p)));
            }
        }
    }

    #[test]
    fn zero_probability_and_single_face_batches_are_untouched() {
        let mut images = vec![0.5; 8];
        let mut targets = vec![1.0, 0.0, 0.0, 1.0];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(
            BatchMix::Mixup { alpha: 1.0, p: 0.0 }
                .apply(&mut images, &mut targets, 2, (1, 2, 2), &mut rng)
                .is_none()
        );
        assert!(
            BatchMix::Cutmix { alpha: 1.0, p: 1.0 }
                .apply(&mut images, &mut targets[..2], 1, (1, 2, 2), &mut rng)
                .is_none()
        );
        assert!(BatchMix::Mixup { alpha: 0.0, p: 1.0 }.validate().is_err());
    }
}
