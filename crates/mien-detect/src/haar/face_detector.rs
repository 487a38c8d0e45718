//! The Haar engine as a [`FaceDetector`], for pipelines that take any detector.

use image::DynamicImage;
use mien_core::{Error, FaceBox, FaceDetector};

use super::{DetectParams, HaarCascade, opencv_gray};

/// A [`FaceDetector`] running a Haar cascade with fixed parameters. A box's confidence is
/// `n / (n + 5)` for a box merging `n` raw detections: more overlapping windows, more
/// confidence (OpenCV gives no score; this one only orders boxes).
///
/// Photos longer than [`HaarFaceDetector::DEFAULT_MAX_SIDE`] pixels on a side are
/// downscaled before detection (and the boxes scaled back), which bounds time and memory
/// on huge images; faces smaller than the cascade window after downscaling are not found.
#[derive(Debug, Clone)]
pub struct HaarFaceDetector {
    cascade: HaarCascade,
    params: DetectParams,
    name: String,
    max_side: u32,
}

impl HaarFaceDetector {
    /// The longest side detection runs at by default.
    pub const DEFAULT_MAX_SIDE: u32 = 2048;

    /// OpenCV's frontal-face cascade with `params`.
    pub fn frontal_face(params: DetectParams) -> Self {
        Self::new(
            HaarCascade::frontal_face(),
            params,
            "haar-frontalface-default",
        )
    }

    /// Any cascade, under a name for reports.
    pub fn new(cascade: HaarCascade, params: DetectParams, name: impl Into<String>) -> Self {
        Self {
            cascade,
            params,
            name: name.into(),
            max_side: Self::DEFAULT_MAX_SIDE,
        }
    }

    /// Detect on a copy downscaled to at most `max_side` pixels on its longer side.
    pub fn with_max_side(mut self, max_side: u32) -> Self {
        self.max_side = max_side.max(1);
        self
    }
}

impl FaceDetector for HaarFaceDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn detect(&self, image: &DynamicImage) -> Result<Vec<FaceBox>, Error> {
        let longest = image.width().max(image.height());
        let (gray, scale) = if longest > self.max_side {
            let scale = self.max_side as f32 / longest as f32;
            let (w, h) = (
                ((image.width() as f32 * scale).round() as u32).max(1),
                ((image.height() as f32 * scale).round() as u32).max(1),
            );
            let small = image.resize_exact(w, h, image::imageops::FilterType::Triangle);
            (opencv_gray(&small), scale)
        } else {
            (opencv_gray(image), 1.0)
        };
        let found = self
            .cascade
            .detect_with_neighbors(&gray, &self.params)
            .map_err(|e| Error::Detection {
                detector: self.name.clone(),
                source: Box::new(e),
            })?;
        Ok(found
            .into_iter()
            .map(|(r, n)| {
                FaceBox::new(
                    r.x as f32 / scale,
                    r.y as f32 / scale,
                    r.width as f32 / scale,
                    r.height as f32 / scale,
                    n as f32 / (n as f32 + 5.0),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_and_blank_images_give_no_faces() {
        let detector = HaarFaceDetector::frontal_face(DetectParams::default());
        assert_eq!(detector.name(), "haar-frontalface-default");
        for (w, h) in [(1, 1), (23, 100), (100, 23), (64, 48)] {
            let image = DynamicImage::new_rgb8(w, h);
            assert!(detector.detect(&image).unwrap().is_empty(), "{w}×{h}");
        }
        let bad = HaarFaceDetector::frontal_face(DetectParams {
            scale_factor: 1.0,
            ..DetectParams::default()
        });
        let err = bad.detect(&DynamicImage::new_rgb8(64, 64)).unwrap_err();
        assert!(err.to_string().contains("scale_factor"), "{err}");
    }
}
