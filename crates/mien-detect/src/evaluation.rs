//! Scoring face detectors against annotated photos: the dlib PASCAL VOC subset of
//! `$MIEN_DATA/faces_wild` (43 faces on 9 photos) and its photo without human faces
//! (`dlib_misc/dogs.jpg`). Used by `examples/evaluate_detectors.rs` and the real-photo tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use image::DynamicImage;
use mien_core::{FaceBox, FaceDetector};

use crate::DetectError;

/// IoU at which a detection counts as finding an annotated face (dlib's boxes are tight,
/// brow to chin; most detectors' boxes are larger).
pub const MATCH_IOU: f32 = 0.4;

/// Photos with their annotated faces, and photos that show no human face.
#[derive(Debug, Clone, Default)]
pub struct Benchmark {
    /// File name → photo and its face boxes.
    pub photos: BTreeMap<String, (DynamicImage, Vec<FaceBox>)>,
    /// Photos without faces: every detection on them is a false positive.
    pub negatives: Vec<DynamicImage>,
}

impl Benchmark {
    /// `faces_wild/dlib_pascal_voc/boxes.csv` (columns `file, dlib_split, img_width,
    /// img_height, left, top, width, height`) with its photos, and `dlib_misc/dogs.jpg`.
    ///
    /// # Errors
    /// [`DetectError::Benchmark`] naming the file and line of a missing or malformed row,
    /// or a photo that cannot be read.
    pub fn faces_wild(faces_wild: &Path) -> Result<Self, DetectError> {
        let folder = faces_wild.join("dlib_pascal_voc");
        let csv_path = folder.join("boxes.csv");
        let problem =
            |what: String| DetectError::Benchmark(format!("{}: {what}", csv_path.display()));
        let mut reader = csv::Reader::from_path(&csv_path).map_err(|e| problem(e.to_string()))?;
        let mut benchmark = Self::default();
        for (index, row) in reader.records().enumerate() {
            let line = index + 2;
            let row = row.map_err(|e| problem(format!("line {line}: {e}")))?;
            let field = |i: usize| -> Result<f32, DetectError> {
                row.get(i)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| problem(format!("line {line}: field {} is not a number", i + 1)))
            };
            let file = row.get(0).unwrap_or_default().to_owned();
            let face = FaceBox::new(field(4)?, field(5)?, field(6)?, field(7)?, 1.0);
            if !benchmark.photos.contains_key(&file) {
                let image = mien_core::open_image(folder.join(&file))
                    .map_err(|e| problem(format!("line {line}: {e}")))?;
                benchmark.photos.insert(file.clone(), (image, Vec::new()));
            }
            if let Some((_, faces)) = benchmark.photos.get_mut(&file) {
                faces.push(face);
            }
        }
        let dogs = faces_wild.join("dlib_misc/dogs.jpg");
        benchmark
            .negatives
            .push(mien_core::open_image(&dogs).map_err(|e| DetectError::Benchmark(e.to_string()))?);
        Ok(benchmark)
    }
}

/// How a detector did on a [`Benchmark`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Annotated faces.
    pub faces: usize,
    /// Annotated faces matched by a detection (IoU ≥ [`MATCH_IOU`], one to one).
    pub found: usize,
    /// Detections on the annotated photos.
    pub detections: usize,
    /// Detections on the annotated photos that match no face.
    pub false_positives: usize,
    /// Detections on the photos without faces.
    pub negative_detections: usize,
    /// Annotated photos.
    pub photos: usize,
    /// Photos without faces.
    pub negatives: usize,
    /// Wall time of all `detect` calls on the annotated photos.
    pub seconds: f64,
}

impl Score {
    /// Found faces / annotated faces.
    pub fn recall(&self) -> f64 {
        self.found as f64 / self.faces.max(1) as f64
    }

    /// Matching detections / detections (1 when there are none).
    pub fn precision(&self) -> f64 {
        if self.detections == 0 {
            1.0
        } else {
            self.found as f64 / self.detections as f64
        }
    }

    /// False positives per photo, over the annotated photos and those without faces.
    pub fn false_positives_per_photo(&self) -> f64 {
        (self.false_positives + self.negative_detections) as f64
            / (self.photos + self.negatives).max(1) as f64
    }
}

/// Greedy one-to-one matching: each annotated face takes the unused detection with the
/// highest IoU, if that IoU is at least [`MATCH_IOU`]. Returns how many faces were matched.
pub fn matched(truth: &[FaceBox], detections: &[FaceBox]) -> usize {
    let mut used = vec![false; detections.len()];
    truth
        .iter()
        .filter(|t| {
            let best = detections
                .iter()
                .enumerate()
                .filter(|(i, _)| !used[*i])
                .map(|(i, d)| (i, t.iou(d)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((i, iou)) if iou >= MATCH_IOU => {
                    used[i] = true;
                    true
                }
                _ => false,
            }
        })
        .count()
}

/// Runs `detector` on every photo of `benchmark`.
///
/// # Errors
/// The detector's error, if it fails on a photo.
pub fn evaluate(
    detector: &dyn FaceDetector,
    benchmark: &Benchmark,
) -> Result<Score, mien_core::Error> {
    let mut score = Score {
        photos: benchmark.photos.len(),
        negatives: benchmark.negatives.len(),
        ..Score::default()
    };
    for (image, truth) in benchmark.photos.values() {
        let started = Instant::now();
        let detections = detector.detect(image)?;
        score.seconds += started.elapsed().as_secs_f64();
        let hits = matched(truth, &detections);
        score.faces += truth.len();
        score.found += hits;
        score.detections += detections.len();
        score.false_positives += detections.len() - hits;
    }
    for image in &benchmark.negatives {
        score.negative_detections += detector.detect(image)?.len();
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_is_one_to_one_at_the_iou_threshold() {
        let face = |x: f32| FaceBox::new(x, 0.0, 10.0, 10.0, 1.0);
        // Two faces, one detection covering the first exactly: one match.
        assert_eq!(matched(&[face(0.0), face(100.0)], &[face(0.0)]), 1);
        // One detection cannot match two faces at the same place.
        assert_eq!(matched(&[face(0.0), face(0.0)], &[face(0.0)]), 1);
        // Shift 5 px: IoU 50/150 = 0.33 < 0.4, no match; shift 4: 60/140 = 0.43, a match.
        assert_eq!(matched(&[face(0.0)], &[face(5.0)]), 0);
        assert_eq!(matched(&[face(0.0)], &[face(4.0)]), 1);
        assert_eq!(matched(&[], &[face(0.0)]), 0);
    }

    #[test]
    fn score_ratios() {
        let s = Score {
            faces: 40,
            found: 30,
            detections: 32,
            false_positives: 2,
            negative_detections: 1,
            photos: 9,
            negatives: 1,
            seconds: 0.0,
        };
        assert_eq!(s.recall(), 0.75);
        assert_eq!(s.precision(), 30.0 / 32.0);
        assert_eq!(s.false_positives_per_photo(), 0.3);
        assert_eq!(Score::default().precision(), 1.0);
    }

    #[test]
    fn a_missing_benchmark_names_the_file() {
        let err = Benchmark::faces_wild(Path::new("/nonexistent/faces_wild")).unwrap_err();
        assert!(err.to_string().contains("boxes.csv"), "{err}");
    }
}
