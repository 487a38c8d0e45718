//! From a detected face to a model input: level the eyes, add a margin, make it square,
//! pad where the face touches the image border, and resample to the model's size.

use image::{DynamicImage, Rgb, RgbImage};
use mien_core::FaceBox;

/// How a face box becomes a crop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropConfig {
    /// Extra space on every side, as a fraction of the box's larger side (0.1 = 10 %).
    pub margin: f32,
    /// Output width and height in pixels.
    pub size: (u32, u32),
}

impl Default for CropConfig {
    /// A 10 % margin and FER2013's 48×48.
    fn default() -> Self {
        Self {
            margin: 0.1,
            size: (48, 48),
        }
    }
}

/// The two eye centres of a face, in image pixels: the eye on the image's left first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eyes {
    /// Centre of the eye further left in the image.
    pub left: (f32, f32),
    /// Centre of the eye further right in the image.
    pub right: (f32, f32),
}

impl Eyes {
    /// The angle of the line from the left to the right eye, in radians (0 when level,
    /// positive when the right eye is lower).
    pub fn roll(&self) -> f32 {
        (self.right.1 - self.left.1).atan2(self.right.0 - self.left.0)
    }
}

/// Crops `face` out of `image`: a square of side `max(w, h) · (1 + 2·margin)` around the
/// box's centre, rotated so that `eyes` (when known) are level, resampled to `config.size`.
/// Parts outside the image repeat the nearest border pixel. Each output pixel averages
/// up to 8×8 bilinear samples when the crop shrinks, so small outputs do not alias.
pub fn align_face(
    image: &DynamicImage,
    face: &FaceBox,
    eyes: Option<&Eyes>,
    config: &CropConfig,
) -> RgbImage {
    align_face_rgb(&image.to_rgb8(), face, eyes, config)
}

/// [`align_face`] on a photo already in RGB: convert a photo once with `to_rgb8` and crop
/// all its faces from it.
pub fn align_face_rgb(
    rgb: &RgbImage,
    face: &FaceBox,
    eyes: Option<&Eyes>,
    config: &CropConfig,
) -> RgbImage {
    crop(rgb, face, eyes, config, 8)
}

/// [`align_face_rgb`] with at most `max_steps` × `max_steps` bilinear samples per output
/// pixel (1: one bilinear sample, as OpenCV's `warpAffine`, which MediaPipe's networks were
/// fed with).
pub(crate) fn crop(
    rgb: &RgbImage,
    face: &FaceBox,
    eyes: Option<&Eyes>,
    config: &CropConfig,
    max_steps: u32,
) -> RgbImage {
    let (out_w, out_h) = (config.size.0.max(1), config.size.1.max(1));
    let (cx, cy) = face.center();
    let side = face.width.max(face.height).max(1.0) * (1.0 + 2.0 * config.margin.max(0.0));
    let angle = eyes.map_or(0.0, Eyes::roll);
    let (sin, cos) = angle.sin_cos();
    // Sub-samples per output pixel along each axis: about one per source pixel.
    let steps = |out: u32| ((side / out as f32).ceil() as u32).clamp(1, max_steps.max(1));
    let (sx, sy) = (steps(out_w), steps(out_h));
    if (sx, sy) == (1, 1) {
        return warp(rgb, (cx, cy), side, (sin, cos), (out_w, out_h));
    }
    RgbImage::from_fn(out_w, out_h, |u, v| {
        let mut acc = [0.0f32; 3];
        for j in 0..sy {
            for i in 0..sx {
                // Position in the crop, in [-0.5, 0.5), then in the image.
                let a = (u as f32 + (i as f32 + 0.5) / sx as f32) / out_w as f32 - 0.5;
                let b = (v as f32 + (j as f32 + 0.5) / sy as f32) / out_h as f32 - 0.5;
                let (dx, dy) = (a * side, b * side);
                let x = cx + dx * cos - dy * sin;
                let y = cy + dx * sin + dy * cos;
                let p = bilinear(rgb, x, y);
                for c in 0..3 {
                    acc[c] += p[c];
                }
            }
        }
        let n = (sx * sy) as f32;
        // Rounds half up: the mean is ≥ 0, where `+ 0.5` and truncation round.
        Rgb(acc.map(|v| (v / n + 0.5).min(255.0) as u8))
    })
}

/// One bilinear sample per output pixel: the values of the sub-sampling loop with one step
/// ([`bilinear`]'s arithmetic), written straight into the output's buffer with the four
/// source pixels read as two 6-byte runs.
fn warp(
    rgb: &RgbImage,
    (cx, cy): (f32, f32),
    side: f32,
    (sin, cos): (f32, f32),
    (out_w, out_h): (u32, u32),
) -> RgbImage {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let raw = rgb.as_raw();
    let (max_x, max_y) = ((w - 1) as f32, (h - 1) as f32);
    let (step_u, step_v) = (side / out_w as f32, side / out_h as f32);
    let mut out = RgbImage::new(out_w, out_h);
    for (v, row) in out
        .as_mut()
        .chunks_exact_mut(3 * out_w as usize)
        .enumerate()
    {
        let dy = (v as f32 + 0.5) * step_v - side / 2.0;
        // The row's start in the photo, and the step along it.
        let (x_start, y_start) = (cx - dy * sin - 0.5, cy + dy * cos - 0.5);
        for (u, pixel) in row.chunks_exact_mut(3).enumerate() {
            let dx = (u as f32 + 0.5) * step_u - side / 2.0;
            let fx = (x_start + dx * cos).max(0.0).min(max_x);
            let fy = (y_start + dx * sin).max(0.0).min(max_y);
            let (x0, y0) = (fx as usize, fy as usize);
            let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
            // The right neighbour, or the pixel itself at the last column.
            let step = if x0 + 1 < w { 3 } else { 0 };
            let y1 = (y0 + 1).min(h - 1);
            let top = &raw[(y0 * w + x0) * 3..][..step + 3];
            let bottom = &raw[(y1 * w + x0) * 3..][..step + 3];
            for c in 0..3 {
                let (a, b) = (f32::from(top[c]), f32::from(top[c + step]));
                let (d, e) = (f32::from(bottom[c]), f32::from(bottom[c + step]));
                let upper = a + (b - a) * tx;
                let lower = d + (e - d) * tx;
                pixel[c] = (upper + (lower - upper) * ty + 0.5).min(255.0) as u8;
            }
        }
    }
    out
}

/// The colour at continuous position `(x, y)` (pixel `i` covers `[i, i + 1)`), bilinear,
/// repeating the border outside the image.
fn bilinear(image: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let clamp = |v: f32, n: usize| v.clamp(0.0, (n - 1) as f32);
    let (fx, fy) = (clamp(x - 0.5, w), clamp(y - 0.5, h));
    // Both are ≥ 0 after the clamp, where truncation is floor (and needs no libm call).
    let (x0, y0) = (fx as usize, fy as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let raw = image.as_raw();
    let px = |x: usize, y: usize| {
        let at = (y * w + x) * 3;
        [raw[at], raw[at + 1], raw[at + 2]].map(f32::from)
    };
    let (p00, p10, p01, p11) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    std::array::from_fn(|c| {
        let top = p00[c] + (p10[c] - p00[c]) * tx;
        let bottom = p01[c] + (p11[c] - p01[c]) * tx;
        top + (bottom - top) * ty
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gradient(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 10) as u8, (y * 10) as u8, 0])
        }))
    }

    #[test]
    fn an_upright_crop_without_margin_copies_the_box() {
        let image = gradient(20, 20);
        let face = FaceBox::new(5.0, 5.0, 10.0, 10.0, 1.0);
        let config = CropConfig {
            margin: 0.0,
            size: (10, 10),
        };
        let crop = align_face(&image, &face, None, &config);
        for (u, v, p) in crop.enumerate_pixels() {
            assert_eq!(
                p.0,
                [((u + 5) * 10) as u8, ((v + 5) * 10) as u8, 0],
                "({u}, {v})"
            );
        }
    }

    #[test]
    fn eyes_on_a_vertical_line_rotate_the_crop_a_quarter_turn() {
        // Eyes one above the other: roll = 90°, so the crop's x axis runs down the image.
        let image = gradient(20, 20);
        let face = FaceBox::new(5.0, 5.0, 10.0, 10.0, 1.0);
        let eyes = Eyes {
            left: (10.0, 6.0),
            right: (10.0, 14.0),
        };
        assert!((eyes.roll() - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
        let config = CropConfig {
            margin: 0.0,
            size: (10, 10),
        };
        let crop = align_face(&image, &face, Some(&eyes), &config);
        // Moving right in the crop moves down in the image: the green (y) channel grows
        // along the crop's rows, the red (x) channel shrinks down its columns.
        assert!(crop.get_pixel(9, 5).0[1] > crop.get_pixel(0, 5).0[1] + 50);
        assert!(crop.get_pixel(5, 9).0[0] + 50 < crop.get_pixel(5, 0).0[0]);
    }

    #[test]
    fn a_face_at_the_border_is_padded_with_the_edge() {
        let image = gradient(20, 20);
        let face = FaceBox::new(-5.0, -5.0, 10.0, 10.0, 1.0);
        let config = CropConfig {
            margin: 0.0,
            size: (10, 10),
        };
        let crop = align_face(&image, &face, None, &config);
        assert_eq!(crop.get_pixel(0, 0).0, [0, 0, 0]); // the corner pixel repeated
        assert_eq!(crop.get_pixel(9, 9).0, [40, 40, 0]);
    }

    proptest! {
        #[test]
        fn any_box_gives_the_requested_size(
            x in -100f32..200.0, y in -100f32..200.0, w in 0f32..300.0, h in 0f32..300.0,
            out in 1u32..64, margin in 0f32..0.5, roll in -3.2f32..3.2,
        ) {
            let image = gradient(37, 23);
            let face = FaceBox::new(x, y, w, h, 1.0);
            let eyes = Eyes { left: (0.0, 0.0), right: (roll.cos(), roll.sin()) };
            let crop = align_face(&image, &face, Some(&eyes), &CropConfig { margin, size: (out, out) });
            prop_assert_eq!(crop.dimensions(), (out, out));
        }
    }
}
