//! The Haar engine as a [`FaceDetector`], for pipelines that take any detector.

use image::DynamicImage;
use mien_core::{Error, FaceBox, FaceDetector};

use super::{DetectParams, HaarCascade, opencv_gray};

/// A [`FaceDetector`] running a Haar cascade with fixed parameters. A box's confidence is
/// `n / (n + 5)` for a box merging `n` raw detections: more overlapping windows, more
/// confidence (OpenCV gives no score; this one only orders boxes).
#[derive(Debug, Clone)]
pub struct HaarFaceDetector {
    cascade: HaarCascade,
    params: DetectParams,
    name: String,
}

impl HaarFaceDetector {
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
        }
    }
}

impl FaceDetector for HaarFaceDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn detect(&self, image: &DynamicImage) -> Result<Vec<FaceBox>, Error> {
        let found = self
            .cascade
            .detect_with_neighbors(&opencv_gray(image), &self.params)
            .map_err(|e| Error::Detection {
                detector: self.name.clone(),
                source: Box::new(e),
            })?;
        Ok(found
            .into_iter()
            .map(|(r, n)| {
                FaceBox::new(
                    r.x as f32,
                    r.y as f32,
                    r.width as f32,
                    r.height as f32,
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
