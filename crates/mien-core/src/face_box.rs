//! Face rectangles in pixel coordinates, and the geometry the pipeline needs on them.

use serde::{Deserialize, Serialize};

/// An axis-aligned face rectangle in pixel coordinates, with the detector's confidence.
///
/// `(x, y)` is the top-left corner; coordinates are `f32` because detectors regress
/// sub-pixel boxes. A box may reach outside the image (a face cut by the border);
/// [`FaceBox::clamp_to`] brings it back.
///
/// ```
/// use mien_core::FaceBox;
/// let a = FaceBox::new(0.0, 0.0, 10.0, 10.0, 0.9);
/// let b = FaceBox::new(5.0, 0.0, 10.0, 10.0, 0.8);
/// assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge, in pixels.
    pub x: f32,
    /// Top edge, in pixels.
    pub y: f32,
    /// Width in pixels (never negative).
    pub width: f32,
    /// Height in pixels (never negative).
    pub height: f32,
    /// Detector confidence, usually in `[0, 1]`; `1.0` for boxes given by hand.
    pub confidence: f32,
}

impl FaceBox {
    /// A box from its top-left corner and size.
    ///
    /// A negative or NaN width or height becomes `0.0`, so every box has a well-defined
    /// (possibly empty) area.
    pub fn new(x: f32, y: f32, width: f32, height: f32, confidence: f32) -> Self {
        Self {
            x,
            y,
            width: width.max(0.0),
            height: height.max(0.0),
            confidence,
        }
    }

    /// A box covering a whole `width` × `height` image, with confidence 1.
    pub fn whole_image(width: u32, height: u32) -> Self {
        Self::new(0.0, 0.0, width as f32, height as f32, 1.0)
    }

    /// Right edge (`x + width`).
    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    /// Bottom edge (`y + height`).
    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }

    /// Centre point `(cx, cy)`.
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    /// Area in square pixels.
    pub fn area(&self) -> f32 {
        self.width * self.height
    }

    /// Area of the overlap with `other` (0 when they do not touch).
    pub fn intersection_area(&self, other: &FaceBox) -> f32 {
        let w = (self.right().min(other.right()) - self.x.max(other.x)).max(0.0);
        let h = (self.bottom().min(other.bottom()) - self.y.max(other.y)).max(0.0);
        w * h
    }

    /// Intersection over union, in `[0, 1]`; `0` when both boxes are empty.
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let intersection = self.intersection_area(other);
        let union = self.area() + other.area() - intersection;
        if union <= 0.0 {
            0.0
        } else {
            (intersection / union).clamp(0.0, 1.0)
        }
    }

    /// The part of the box inside a `width` × `height` image (possibly empty).
    pub fn clamp_to(&self, width: u32, height: u32) -> FaceBox {
        let (w, h) = (width as f32, height as f32);
        let x0 = self.x.clamp(0.0, w);
        let y0 = self.y.clamp(0.0, h);
        let x1 = self.right().clamp(0.0, w);
        let y1 = self.bottom().clamp(0.0, h);
        FaceBox::new(x0, y0, x1 - x0, y1 - y0, self.confidence)
    }

    /// Grows the box by `margin` of its size on every side, keeping its centre.
    ///
    /// `margin = 0.2` turns a 100-pixel-wide box into a 140-pixel-wide one. A negative
    /// margin shrinks the box (never below zero size).
    pub fn expand(&self, margin: f32) -> FaceBox {
        let dx = self.width * margin;
        let dy = self.height * margin;
        FaceBox::new(
            self.x - dx,
            self.y - dy,
            self.width + 2.0 * dx,
            self.height + 2.0 * dy,
            self.confidence,
        )
    }

    /// The smallest square with the same centre that contains the box.
    pub fn to_square(&self) -> FaceBox {
        let side = self.width.max(self.height);
        let (cx, cy) = self.center();
        FaceBox::new(
            cx - side / 2.0,
            cy - side / 2.0,
            side,
            side,
            self.confidence,
        )
    }

    /// Integer pixel rectangle `(x, y, width, height)` inside a `width` × `height` image,
    /// for cropping; `None` when the box has no pixel inside the image.
    pub fn pixel_rect(&self, width: u32, height: u32) -> Option<(u32, u32, u32, u32)> {
        let clamped = self.clamp_to(width, height);
        let x0 = clamped.x.round() as u32;
        let y0 = clamped.y.round() as u32;
        let x1 = (clamped.right().round() as u32).min(width);
        let y1 = (clamped.bottom().round() as u32).min(height);
        (x1 > x0 && y1 > y0).then(|| (x0, y0, x1 - x0, y1 - y0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_box() -> impl Strategy<Value = FaceBox> {
        (-500f32..500.0, -500f32..500.0, 0f32..400.0, 0f32..400.0)
            .prop_map(|(x, y, w, h)| FaceBox::new(x, y, w, h, 1.0))
    }

    #[test]
    fn iou_by_hand() {
        let a = FaceBox::new(0.0, 0.0, 4.0, 4.0, 1.0);
        assert_eq!(a.iou(&a), 1.0);
        // Overlap 2x2 = 4, union 16 + 16 - 4 = 28.
        let b = FaceBox::new(2.0, 2.0, 4.0, 4.0, 1.0);
        assert!((a.iou(&b) - 4.0 / 28.0).abs() < 1e-6);
        let far = FaceBox::new(10.0, 10.0, 1.0, 1.0, 1.0);
        assert_eq!(a.iou(&far), 0.0);
        let empty = FaceBox::new(0.0, 0.0, 0.0, 0.0, 1.0);
        assert_eq!(empty.iou(&empty), 0.0);
    }

    #[test]
    fn negative_and_nan_sizes_become_empty() {
        let b = FaceBox::new(1.0, 1.0, -3.0, f32::NAN, 0.5);
        assert_eq!((b.width, b.height), (0.0, 0.0));
        assert_eq!(b.area(), 0.0);
    }

    #[test]
    fn expand_and_square_by_hand() {
        let b = FaceBox::new(10.0, 20.0, 100.0, 50.0, 0.7);
        let e = b.expand(0.2);
        assert_eq!((e.x, e.y, e.width, e.height), (-10.0, 10.0, 140.0, 70.0));
        let s = b.to_square();
        assert_eq!((s.x, s.y, s.width, s.height), (10.0, -5.0, 100.0, 100.0));
        assert_eq!(s.confidence, 0.7);
    }

    #[test]
    fn clamp_and_pixel_rect_by_hand() {
        let b = FaceBox::new(-10.0, 5.0, 50.0, 100.0, 1.0);
        let c = b.clamp_to(30, 60);
        assert_eq!((c.x, c.y, c.width, c.height), (0.0, 5.0, 30.0, 55.0));
        assert_eq!(b.pixel_rect(30, 60), Some((0, 5, 30, 55)));
        assert_eq!(
            FaceBox::new(100.0, 100.0, 5.0, 5.0, 1.0).pixel_rect(30, 60),
            None
        );
    }

    proptest! {
        #[test]
        fn iou_is_symmetric_and_in_unit_interval(a in any_box(), b in any_box()) {
            let ab = a.iou(&b);
            prop_assert_eq!(ab, b.iou(&a));
            prop_assert!((0.0..=1.0).contains(&ab));
        }

        #[test]
        fn clamp_keeps_box_inside_image(b in any_box(), w in 1u32..1000, h in 1u32..1000) {
            let c = b.clamp_to(w, h);
            prop_assert!(c.x >= 0.0 && c.y >= 0.0);
            prop_assert!(c.right() <= w as f32 && c.bottom() <= h as f32);
            // Clamping never grows a box (up to f32 rounding of the recomputed edges).
            prop_assert!(c.area() <= b.area() * (1.0 + 1e-5) + 1e-3);
            if let Some((x, y, pw, ph)) = b.pixel_rect(w, h) {
                prop_assert!(pw > 0 && ph > 0 && x + pw <= w && y + ph <= h);
            }
        }

        #[test]
        fn square_contains_box_and_keeps_centre(b in any_box()) {
            let s = b.to_square();
            prop_assert_eq!(s.width, s.height);
            prop_assert!(s.x <= b.x + 1e-3 && s.right() >= b.right() - 1e-3);
            prop_assert!(s.y <= b.y + 1e-3 && s.bottom() >= b.bottom() - 1e-3);
            let ((cx, cy), (sx, sy)) = (b.center(), s.center());
            prop_assert!((cx - sx).abs() < 1e-2 && (cy - sy).abs() < 1e-2);
        }

        #[test]
        fn expanded_box_contains_original(b in any_box(), margin in 0f32..1.0) {
            let e = b.expand(margin);
            prop_assert!(e.intersection_area(&b) >= b.area() * 0.999 - 1e-3);
        }
    }
}
