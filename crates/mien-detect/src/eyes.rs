//! Eyes inside a detected face, with OpenCV's eye cascade: searched in the upper part of
//! the face box, one per half.

use image::GrayImage;
use image::imageops::crop_imm;
use mien_core::FaceBox;

use crate::DetectError;
use crate::align::Eyes;
use crate::haar::{DetectParams, HaarCascade, Rect};

/// Finds eyes in faces with a Haar eye cascade.
#[derive(Debug, Clone)]
pub struct EyeFinder {
    cascade: HaarCascade,
    params: DetectParams,
}

impl Default for EyeFinder {
    /// OpenCV's `haarcascade_eye.xml`, scale 1.1, 3 neighbours, eyes at least 1/8 of the
    /// face wide.
    fn default() -> Self {
        Self {
            cascade: HaarCascade::eye(),
            params: DetectParams::default(),
        }
    }
}

impl EyeFinder {
    /// Eyes with another cascade or parameters.
    pub fn new(cascade: HaarCascade, params: DetectParams) -> Self {
        Self { cascade, params }
    }

    /// The eye detections in the upper 60 % of `face` (in image coordinates), largest first.
    ///
    /// # Errors
    /// [`DetectError::Parameter`] for invalid detection parameters.
    pub fn detect(&self, gray: &GrayImage, face: &FaceBox) -> Result<Vec<Rect>, DetectError> {
        let (w, h) = gray.dimensions();
        let region =
            FaceBox::new(face.x, face.y, face.width, face.height * 0.6, 1.0).clamp_to(w, h);
        let (x0, y0) = (region.x.floor() as u32, region.y.floor() as u32);
        let (rw, rh) = (region.width.floor() as u32, region.height.floor() as u32);
        if rw == 0 || rh == 0 {
            return Ok(Vec::new());
        }
        let upper = crop_imm(gray, x0, y0, rw, rh).to_image();
        let min_side = (face.width / 8.0).max(0.0) as u32;
        let params = DetectParams {
            min_size: (min_side, min_side),
            ..self.params
        };
        let mut eyes: Vec<Rect> = self
            .cascade
            .detect(&upper, &params)?
            .into_iter()
            .map(|r| Rect {
                x: r.x + x0 as i32,
                y: r.y + y0 as i32,
                ..r
            })
            .collect();
        eyes.sort_by_key(|r| std::cmp::Reverse(r.width * r.height));
        Ok(eyes)
    }

    /// The two eye centres, when the largest detection in each half of the face is found.
    ///
    /// # Errors
    /// [`DetectError::Parameter`] for invalid detection parameters.
    pub fn find(&self, gray: &GrayImage, face: &FaceBox) -> Result<Option<Eyes>, DetectError> {
        let detections = self.detect(gray, face)?;
        let middle = face.x + face.width / 2.0;
        let centre = |r: &Rect| {
            (
                r.x as f32 + r.width as f32 / 2.0,
                r.y as f32 + r.height as f32 / 2.0,
            )
        };
        let left = detections.iter().map(centre).find(|c| c.0 < middle);
        let right = detections.iter().map(centre).find(|c| c.0 >= middle);
        Ok(left.zip(right).map(|(left, right)| Eyes { left, right }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_outside_or_flat_images_give_no_eyes() {
        let finder = EyeFinder::default();
        let gray = GrayImage::from_pixel(100, 80, image::Luma([128]));
        let inside = FaceBox::new(10.0, 10.0, 60.0, 60.0, 1.0);
        assert!(finder.detect(&gray, &inside).unwrap().is_empty());
        assert_eq!(finder.find(&gray, &inside).unwrap(), None);
        let outside = FaceBox::new(500.0, 500.0, 60.0, 60.0, 1.0);
        assert!(finder.detect(&gray, &outside).unwrap().is_empty());
    }
}
