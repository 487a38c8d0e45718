//! Rating a whole photo: are the people smiling, with their eyes open?

use serde::{Deserialize, Serialize};

use crate::SmileScore;

/// What the rating needs to know about one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhotoFace {
    /// The face's smile score.
    pub smile: SmileScore,
    /// Eyes the eye detector found in the face (0, 1 or 2).
    pub eyes_found: u32,
    /// Probability that the eyes are open, in `[0, 1]` (an eyes-open classifier, or
    /// `eyes_found / 2` without one).
    pub eyes_open: f32,
}

impl PhotoFace {
    /// A face as the analyzer reads it: its smile, whether its eyes were found (BlazeFace's
    /// key points or the eye cascade: both or none), and the eyes-open classifier's
    /// probability when it ran. Without the classifier, found eyes count as open and missing
    /// ones as closed.
    pub fn new(smile: SmileScore, eyes_found: bool, eyes_open: Option<f32>) -> Self {
        let found = if eyes_found { 1.0 } else { 0.0 };
        Self {
            smile,
            eyes_found: if eyes_found { 2 } else { 0 },
            eyes_open: eyes_open.unwrap_or(found),
        }
    }
}

/// The seed projects' photo rating, exactly:
/// `open_eye_ratio = 0.5 × eye_count / face_count`,
/// `avg_smile = mean of per-face level weights {none 0.2, mild 0.5, moderate 0.7, huge 1.0}`,
/// `rating = 0.8 × avg_smile + 0.2 × open_eye_ratio`. `None` for a photo without faces.
///
/// Its weaknesses are why [`rate_photo`] exists: the smile is quantised into four steps, eye
/// detections are pooled over the photo (two eyes on one face make up for none on another,
/// and spurious detections can push the ratio past 1), and one closed-eyed or frowning face
/// barely moves a big group's rating.
pub fn rate_photo_seed(faces: &[PhotoFace]) -> Option<f32> {
    if faces.is_empty() {
        return None;
    }
    let n = faces.len() as f32;
    let eye_count: u32 = faces.iter().map(|f| f.eyes_found).sum();
    let open_eye_ratio = 0.5 * eye_count as f32 / n;
    let avg_smile = faces.iter().map(|f| f.smile.level().weight()).sum::<f32>() / n;
    Some(0.8 * avg_smile + 0.2 * open_eye_ratio)
}

/// mien's photo rating, in `[0, 1]`: each face's quality is
/// `q = 0.8 × smile intensity + 0.2 × P(eyes open)` (the continuous score, per-face eyes),
/// and the photo's rating is `0.5 × mean(q) + 0.5 × min(q)`, so that a group photo is as
/// good as its people on average *and* no better than allowed by its worst face — the
/// person with closed eyes is what makes people retake a photo. `None` without faces.
pub fn rate_photo(faces: &[PhotoFace]) -> Option<f32> {
    if faces.is_empty() {
        return None;
    }
    let quality: Vec<f32> = faces
        .iter()
        .map(|f| {
            let eyes = if f.eyes_open.is_nan() {
                0.0
            } else {
                f.eyes_open.clamp(0.0, 1.0)
            };
            0.8 * f.smile.intensity() + 0.2 * eyes
        })
        .collect();
    let mean = quality.iter().sum::<f32>() / quality.len() as f32;
    let worst = quality.iter().copied().fold(f32::INFINITY, f32::min);
    Some(0.5 * mean + 0.5 * worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn without_the_classifier_found_eyes_count_as_open() {
        let smile = SmileScore::from_intensity(0.5);
        assert_eq!(PhotoFace::new(smile, true, None).eyes_open, 1.0);
        assert_eq!(PhotoFace::new(smile, false, None).eyes_open, 0.0);
        assert_eq!(PhotoFace::new(smile, true, Some(0.25)).eyes_open, 0.25);
        assert_eq!(PhotoFace::new(smile, false, None).eyes_found, 0);
    }

    fn face(intensity: f32, eyes_found: u32, eyes_open: f32) -> PhotoFace {
        PhotoFace {
            smile: SmileScore::from_intensity(intensity),
            eyes_found,
            eyes_open,
        }
    }

    #[test]
    fn seed_formula_by_hand() {
        // Two faces: huge smile (1.0) with 2 eyes, no smile (0.2) with 1 eye.
        // open_eye_ratio = 0.5 · 3 / 2 = 0.75; avg_smile = 0.6; rating = 0.48 + 0.15 = 0.63.
        let faces = [face(0.9, 2, 1.0), face(0.0, 1, 0.5)];
        assert!((rate_photo_seed(&faces).unwrap() - 0.63).abs() < 1e-6);
        assert_eq!(rate_photo_seed(&[]), None);
        // Spurious eye detections push the seed's eye ratio past 1.
        assert!((rate_photo_seed(&[face(0.0, 4, 1.0)]).unwrap() - (0.16 + 0.4)).abs() < 1e-6);
    }

    #[test]
    fn improved_formula_by_hand() {
        // q1 = 0.8·0.9 + 0.2·1.0 = 0.92; q2 = 0.8·0.0 + 0.2·0.5 = 0.1;
        // rating = 0.5·0.51 + 0.5·0.1 = 0.305.
        let faces = [face(0.9, 2, 1.0), face(0.0, 1, 0.5)];
        assert!((rate_photo(&faces).unwrap() - 0.305).abs() < 1e-6);
        assert_eq!(rate_photo(&[]), None);
        // Everyone beaming with open eyes: 1.0.
        assert!((rate_photo(&[face(1.0, 2, 1.0); 5]).unwrap() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn one_closed_eyed_face_costs_more_than_in_the_seed() {
        let mut group = vec![face(0.9, 2, 1.0); 9];
        let before = (
            rate_photo(&group).unwrap(),
            rate_photo_seed(&group).unwrap(),
        );
        group.push(face(0.9, 0, 0.0));
        let after = (
            rate_photo(&group).unwrap(),
            rate_photo_seed(&group).unwrap(),
        );
        assert!(before.0 - after.0 > 2.0 * (before.1 - after.1));
    }

    proptest! {
        #[test]
        fn improved_rating_is_in_range_and_monotonic_in_each_smile(
            intensities in proptest::collection::vec(0f32..1.0, 1..8),
            eyes in 0f32..1.0,
            bump in 0f32..0.5,
        ) {
            let faces: Vec<PhotoFace> = intensities.iter().map(|&i| face(i, 2, eyes)).collect();
            let rating = rate_photo(&faces).unwrap();
            prop_assert!((0.0..=1.0 + 1e-6).contains(&rating));
            let mut happier = faces.clone();
            happier[0].smile = SmileScore::from_intensity((intensities[0] + bump).min(1.0));
            prop_assert!(rate_photo(&happier).unwrap() >= rating - 1e-6);
        }
    }
}
