//! Per-face augmentation: random crop with padding, horizontal flip, small rotation,
//! brightness / contrast jitter and random erasing.
//!
//! Each step has its own probability; a pipeline is a list of steps, serde-configurable so
//! that an experiment is a file:
//!
//! ```
//! use mien_data::augment::Augmentation;
//! let pipeline: Vec<Augmentation> = serde_json::from_str(r#"[
//!     {"kind": "random_crop", "padding": 4, "p": 1.0},
//!     {"kind": "horizontal_flip", "p": 0.5},
//!     {"kind": "rotation", "max_degrees": 10.0, "p": 0.5}
//! ]"#).unwrap();
//! assert_eq!(pipeline.len(), 3);
//! ```
//!
//! Augmentation works on the decoded `u8` face, before [`mien_core::Preprocessing`]
//! normalises it, like torchvision's PIL transforms. Given the same RNG state the output is
//! the same.

use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{Border, Interpolation, rotate_about_center};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// One augmentation step, applied with probability `p`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Augmentation {
    /// Pads every side with `padding` black pixels, then crops a face-sized window at a
    /// random offset (a shift of up to `padding` pixels).
    RandomCrop {
        /// Pixels of padding per side.
        padding: u32,
        /// Probability of applying the step.
        p: f32,
    },
    /// Mirrors the face left–right.
    HorizontalFlip {
        /// Probability of applying the step.
        p: f32,
    },
    /// Rotates about the centre by an angle uniform in `[-max_degrees, max_degrees]`
    /// (bilinear; the corners it uncovers repeat the nearest edge pixel).
    Rotation {
        /// Largest rotation in degrees.
        max_degrees: f32,
        /// Probability of applying the step.
        p: f32,
    },
    /// `v ← (v − mean) · c + mean + b · 255` with `c` uniform in `[1 − contrast, 1 + contrast]`
    /// and `b` uniform in `[−brightness, brightness]`, clamped to `0..=255`.
    BrightnessContrast {
        /// Largest brightness shift, as a fraction of full scale.
        brightness: f32,
        /// Largest relative contrast change.
        contrast: f32,
        /// Probability of applying the step.
        p: f32,
    },
    /// Replaces a random rectangle covering `min_area..=max_area` of the face with random
    /// noise (Zhong et al., 2020), aspect ratio in `[0.3, 3.3]`.
    RandomErasing {
        /// Smallest erased fraction of the area.
        min_area: f32,
        /// Largest erased fraction of the area.
        max_area: f32,
        /// Probability of applying the step.
        p: f32,
    },
}

impl Augmentation {
    /// The step's probability.
    pub fn probability(&self) -> f32 {
        match *self {
            Augmentation::RandomCrop { p, .. }
            | Augmentation::HorizontalFlip { p }
            | Augmentation::Rotation { p, .. }
            | Augmentation::BrightnessContrast { p, .. }
            | Augmentation::RandomErasing { p, .. } => p,
        }
    }

    /// Checks probabilities and strengths.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] naming the step and the value.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |what: String| Err(DataError::InvalidConfig(format!("{self:?}: {what}")));
        let p = self.probability();
        if !(0.0..=1.0).contains(&p) {
            return bad(format!("p = {p} is not a probability in [0, 1]"));
        }
        match *self {
            Augmentation::Rotation { max_degrees, .. } if !(0.0..=180.0).contains(&max_degrees) => {
                bad(format!("max_degrees = {max_degrees} is not in [0, 180]"))
            }
            Augmentation::BrightnessContrast {
                brightness,
                contrast,
                ..
            } if !(0.0..=1.0).contains(&brightness) || !(0.0..=1.0).contains(&contrast) => {
                bad("brightness and contrast must be in [0, 1]".into())
            }
            Augmentation::RandomErasing {
                min_area, max_area, ..
            } if !(0.0 <= min_area && min_area <= max_area && max_area <= 1.0) => bad(format!(
                "need 0 <= min_area ({min_area}) <= max_area ({max_area}) <= 1"
            )),
            _ => Ok(()),
        }
    }

    /// Applies the step to `face` (with its probability), drawing randomness from `rng`.
    pub fn apply(&self, face: &mut GrayImage, rng: &mut impl Rng) {
        // Draw the coin first, always, so that later steps see the same RNG stream
        // whatever this one decides.
        if rng.random::<f32>() >= self.probability() {
            return;
        }
        match *self {
            Augmentation::RandomCrop { padding, .. } => random_crop(face, padding, rng),
            Augmentation::HorizontalFlip { .. } => image::imageops::flip_horizontal_in_place(face),
            Augmentation::Rotation { max_degrees, .. } => {
                let degrees = rng.random_range(-max_degrees..=max_degrees);
                if degrees != 0.0 {
                    *face = rotate_about_center(
                        face,
                        degrees.to_radians(),
                        Interpolation::Bilinear,
                        Border::Replicate,
                    );
                }
            }
            Augmentation::BrightnessContrast {
                brightness,
                contrast,
                ..
            } => {
                let c = 1.0 + rng.random_range(-contrast..=contrast);
                let b = 255.0 * rng.random_range(-brightness..=brightness);
                jitter(face, c, b);
            }
            Augmentation::RandomErasing {
                min_area, max_area, ..
            } => random_erasing(face, min_area, max_area, rng),
        }
    }
}

/// Applies each step in order.
pub fn apply_all(steps: &[Augmentation], face: &mut GrayImage, rng: &mut impl Rng) {
    for step in steps {
        step.apply(face, rng);
    }
}

fn random_crop(face: &mut GrayImage, padding: u32, rng: &mut impl Rng) {
    if padding == 0 {
        return;
    }
    let (w, h) = face.dimensions();
    let dx = rng.random_range(0..=2 * padding) as i64 - padding as i64;
    let dy = rng.random_range(0..=2 * padding) as i64 - padding as i64;
    let source = face.clone();
    for (x, y, pixel) in face.enumerate_pixels_mut() {
        let (sx, sy) = (x as i64 + dx, y as i64 + dy);
        let inside = (0..w as i64).contains(&sx) && (0..h as i64).contains(&sy);
        *pixel = if inside {
            *source.get_pixel(sx as u32, sy as u32)
        } else {
            Luma([0])
        };
    }
}

fn jitter(face: &mut GrayImage, contrast: f32, brightness_shift: f32) {
    let n = face.as_raw().len().max(1) as f32;
    let mean = face.as_raw().iter().map(|&v| v as f32).sum::<f32>() / n;
    for v in face.iter_mut() {
        *v = ((*v as f32 - mean) * contrast + mean + brightness_shift)
            .round()
            .clamp(0.0, 255.0) as u8;
    }
}

fn random_erasing(face: &mut GrayImage, min_area: f32, max_area: f32, rng: &mut impl Rng) {
    let (w, h) = face.dimensions();
    let area = (w * h) as f32 * rng.random_range(min_area..=max_area);
    let aspect = rng.random_range(0.3f32.ln()..=3.3f32.ln()).exp();
    let ew = ((area * aspect).sqrt().round() as u32).min(w);
    let eh = ((area / aspect).sqrt().round() as u32).min(h);
    if ew == 0 || eh == 0 {
        return;
    }
    let x0 = rng.random_range(0..=w - ew);
    let y0 = rng.random_range(0..=h - eh);
    for y in y0..y0 + eh {
        for x in x0..x0 + ew {
            face.put_pixel(x, y, Luma([rng.random()]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn face_strategy() -> impl Strategy<Value = GrayImage> {
        (1u32..24, 1u32..24).prop_flat_map(|(w, h)| {
            proptest::collection::vec(any::<u8>(), (w * h) as usize)
                .prop_map(move |raw| GrayImage::from_raw(w, h, raw).unwrap())
        })
    }

    fn step_strategy() -> impl Strategy<Value = Augmentation> {
        let p = 0f32..=1.0;
        prop_oneof![
            (0u32..8, p.clone()).prop_map(|(padding, p)| Augmentation::RandomCrop { padding, p }),
            p.clone().prop_map(|p| Augmentation::HorizontalFlip { p }),
            (0f32..30.0, p.clone())
                .prop_map(|(max_degrees, p)| Augmentation::Rotation { max_degrees, p }),
            (0f32..0.5, 0f32..0.5, p.clone()).prop_map(|(brightness, contrast, p)| {
                Augmentation::BrightnessContrast {
                    brightness,
                    contrast,
                    p,
                }
            }),
            (0f32..0.2, 0.2f32..0.5, p).prop_map(|(min_area, max_area, p)| {
                Augmentation::RandomErasing {
                    min_area,
                    max_area,
                    p,
                }
            }),
        ]
    }

    #[test]
    fn random_crop_shifts_by_hand() {
        // A 3×1 face shifted by one pixel: with padding 1 the offsets are -1, 0 or 1.
        let face = GrayImage::from_raw(3, 1, vec![10, 20, 30]).unwrap();
        let mut seen = std::collections::HashSet::new();
        for seed in 0..50 {
            let mut f = face.clone();
            random_crop(&mut f, 1, &mut ChaCha8Rng::seed_from_u64(seed));
            seen.insert(f.into_raw());
        }
        // dy ≠ 0 blacks out the single row.
        let expected: std::collections::HashSet<Vec<u8>> = [
            vec![0, 10, 20],
            vec![10, 20, 30],
            vec![20, 30, 0],
            vec![0, 0, 0],
        ]
        .into_iter()
        .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn jitter_by_hand() {
        let mut face = GrayImage::from_raw(2, 1, vec![100, 200]).unwrap();
        jitter(&mut face, 2.0, 10.0); // mean 150: (100-150)*2+150+10 = 60, (200-150)*2+160 = 260 → 255
        assert_eq!(face.into_raw(), vec![60, 255]);
    }

    #[test]
    fn invalid_settings_are_rejected() {
        assert!(Augmentation::HorizontalFlip { p: 1.5 }.validate().is_err());
        assert!(
            Augmentation::RandomErasing {
                min_area: 0.5,
                max_area: 0.1,
                p: 0.5
            }
            .validate()
            .is_err()
        );
        assert!(
            Augmentation::Rotation {
                max_degrees: 10.0,
                p: 0.5
            }
            .validate()
            .is_ok()
        );
    }

    proptest! {
        #![proptest_config(mien_core::fuzzing::cases(64))]

        #[test]
        fn steps_keep_the_face_size(face in face_strategy(), steps in proptest::collection::vec(step_strategy(), 0..6), seed in any::<u64>()) {
            let mut out = face.clone();
            apply_all(&steps, &mut out, &mut ChaCha8Rng::seed_from_u64(seed));
            prop_assert_eq!(out.dimensions(), face.dimensions());
        }

        #[test]
        fn same_seed_same_output(face in face_strategy(), steps in proptest::collection::vec(step_strategy(), 0..6), seed in any::<u64>()) {
            let (mut a, mut b) = (face.clone(), face);
            apply_all(&steps, &mut a, &mut ChaCha8Rng::seed_from_u64(seed));
            apply_all(&steps, &mut b, &mut ChaCha8Rng::seed_from_u64(seed));
            prop_assert_eq!(a, b);
        }

        #[test]
        fn flip_twice_is_identity(face in face_strategy(), seed in any::<u64>()) {
            let flip = Augmentation::HorizontalFlip { p: 1.0 };
            let mut out = face.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            flip.apply(&mut out, &mut rng);
            flip.apply(&mut out, &mut rng);
            prop_assert_eq!(out, face);
        }

        #[test]
        fn zero_strength_or_zero_probability_is_identity(face in face_strategy(), p in 0f32..=1.0, seed in any::<u64>()) {
            let zero_strength = [
                Augmentation::RandomCrop { padding: 0, p },
                Augmentation::Rotation { max_degrees: 0.0, p },
                Augmentation::BrightnessContrast { brightness: 0.0, contrast: 0.0, p },
                Augmentation::RandomErasing { min_area: 0.0, max_area: 0.0, p },
            ];
            let never = [
                Augmentation::HorizontalFlip { p: 0.0 },
                Augmentation::RandomCrop { padding: 4, p: 0.0 },
                Augmentation::Rotation { max_degrees: 20.0, p: 0.0 },
                Augmentation::RandomErasing { min_area: 0.1, max_area: 0.4, p: 0.0 },
            ];
            let mut out = face.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            apply_all(&zero_strength, &mut out, &mut rng);
            apply_all(&never, &mut out, &mut rng);
            prop_assert_eq!(out, face);
        }
    }
}
