//! The [`FaceDetector`] trait, and the trivial detector for images that are already a face.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use crate::{Error, FaceBox};

/// Points on a face that a detector locates with it, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceKeyPoints {
    /// The centre of the eye further left in the image (the subject's right eye, for a
    /// frontal face).
    pub left_eye: [f32; 2],
    /// The centre of the eye further right in the image.
    pub right_eye: [f32; 2],
    /// The tip of the nose.
    pub nose: [f32; 2],
    /// The centre of the mouth.
    pub mouth: [f32; 2],
}

/// A face found by a [`FaceDetector`]: its box and, from detectors that locate them, its key
/// points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The face's box, with the detector's confidence.
    pub face: FaceBox,
    /// The eyes, nose and mouth, when the detector finds them.
    pub key_points: Option<FaceKeyPoints>,
}

/// Finds faces in a photo.
///
/// Detectors are `Send + Sync` so one instance can serve a web server's or a batch job's
/// threads. Boxes are in the input image's pixel coordinates, best first is not required.
pub trait FaceDetector: Send + Sync {
    /// A short name for messages and reports (e.g. `"haar-frontalface-default"`).
    fn name(&self) -> &str;

    /// All faces found in `image`; an empty vector when there are none.
    ///
    /// # Errors
    /// [`Error::Detection`] when the detector itself fails (not when it finds nothing).
    fn detect(&self, image: &DynamicImage) -> Result<Vec<FaceBox>, Error>;

    /// The faces in `image` with their key points where the detector finds them (BlazeFace
    /// does); by default [`FaceDetector::detect`]'s boxes without key points.
    ///
    /// # Errors
    /// As [`FaceDetector::detect`].
    fn detections(&self, image: &DynamicImage) -> Result<Vec<Detection>, Error> {
        Ok(self
            .detect(image)?
            .into_iter()
            .map(|face| Detection {
                face,
                key_points: None,
            })
            .collect())
    }
}

/// A detector that reports the whole image as one face.
///
/// For inputs that are already face crops (FER2013 images, a cropped upload), where a real
/// detector could find nothing and the user would get no answer.
///
/// ```
/// use mien_core::{FaceDetector, WholeImage};
/// let image = image::DynamicImage::new_luma8(48, 40);
/// let faces = WholeImage.detect(&image).unwrap();
/// assert_eq!((faces[0].width, faces[0].height), (48.0, 40.0));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct WholeImage;

impl FaceDetector for WholeImage {
    fn name(&self) -> &str {
        "whole-image"
    }

    fn detect(&self, image: &DynamicImage) -> Result<Vec<FaceBox>, Error> {
        if image.width() == 0 || image.height() == 0 {
            return Ok(Vec::new());
        }
        Ok(vec![FaceBox::whole_image(image.width(), image.height())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detections_default_to_the_boxes_without_key_points() {
        let detections = WholeImage
            .detections(&DynamicImage::new_rgb8(30, 20))
            .unwrap();
        assert_eq!(
            detections,
            [Detection {
                face: FaceBox::whole_image(30, 20),
                key_points: None
            }]
        );
    }

    #[test]
    fn whole_image_finds_nothing_in_an_empty_image() {
        assert!(
            WholeImage
                .detect(&DynamicImage::new_luma8(0, 0))
                .unwrap()
                .is_empty()
        );
        let boxed: Box<dyn FaceDetector> = Box::new(WholeImage);
        assert_eq!(
            boxed.detect(&DynamicImage::new_rgb8(3, 4)).unwrap().len(),
            1
        );
    }
}
