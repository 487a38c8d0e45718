//! "Make it happier": every face of a photo gets a stronger smile, at the photo's full
//! resolution, by warping the skin around the mouth; a negative strength makes faces less
//! happy.
//!
//! The warp is guided by each face's eyes (BlazeFace's key points, or the eye cascade's) or,
//! without them, by its box: they give the face's scale `D` (the distance between the eyes),
//! its axes and the mouth. Control points at the mouth corners move up and outward, the
//! upper lip's centre and the cheeks move up, each by a fraction of `D` times the strength,
//! and every pixel moves by the Gaussian-weighted sum of their displacements. The weights
//! fall to nothing within a mouth's width, so the eyes, the rest of the face and the
//! background are untouched and the edit has no border to see. Pixels are resampled
//! bilinearly (`imageproc`'s `warp_with`) in a box around each mouth only.
//!
//! ```no_run
//! let analyzer = mien::Analyzer::new()?;
//! let photo = mien::open_image("group.jpg")?;
//! let edit = analyzer.make_happier(&photo, 1.0)?;
//! edit.image.save("happier.jpg")?;
//! for (before, after) in edit.smiles() {
//!     println!("smile {before:.1} → {after:.1}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use image::{DynamicImage, GenericImageView, ImageBuffer, Pixel};
use imageproc::definitions::Clamp;
use imageproc::geometric_transformations::{Border, Interpolation, warp_with};

use crate::{Analysis, AnalyzeError, Analyzer, FaceAnalysis};

/// The strengths [`Analyzer::make_happier`] accepts: beyond them the warp would fold.
pub const STRENGTH_RANGE: std::ops::RangeInclusive<f32> = -2.0..=2.0;

/// A photo made happier, with the analyses before and after.
#[derive(Debug, Clone)]
pub struct HappierEdit {
    /// The edited photo, the input's size.
    pub image: DynamicImage,
    /// The input photo's analysis.
    pub before: Analysis,
    /// The edited photo's analysis.
    pub after: Analysis,
}

impl HappierEdit {
    /// Smile scores (1–10) before and after, face by face, for the faces found in both
    /// photos (matched by box overlap).
    pub fn smiles(&self) -> Vec<(f32, f32)> {
        self.before
            .faces
            .iter()
            .filter_map(|b| {
                let a = self
                    .after
                    .faces
                    .iter()
                    .max_by(|x, y| b.face.iou(&x.face).total_cmp(&b.face.iou(&y.face)))?;
                (b.face.iou(&a.face) > 0.5).then(|| (b.smile.value(), a.smile.value()))
            })
            .collect()
    }
}

impl Analyzer {
    /// Every face of `photo` with a stronger smile (`strength` > 0: 1 is a natural smile,
    /// 2 a broad one) or a weaker one (< 0), and the analyses of the photo before and after.
    /// A photo without faces comes back unchanged.
    ///
    /// # Errors
    /// [`AnalyzeError::InvalidStrength`] for a strength outside [`STRENGTH_RANGE`] or not a
    /// number; otherwise as [`Analyzer::analyze`].
    pub fn make_happier(
        &self,
        photo: &DynamicImage,
        strength: f32,
    ) -> Result<HappierEdit, AnalyzeError> {
        if !STRENGTH_RANGE.contains(&strength) {
            return Err(AnalyzeError::InvalidStrength(strength));
        }
        let before = self.analyze(photo)?;
        let mouths = if before.faces.is_empty() {
            Vec::new()
        } else {
            self.mouths(photo)?
        };
        let mut image = photo.clone();
        for face in &before.faces {
            let mouth = mouths
                .iter()
                .filter(|(b, _)| b.iou(&face.face) > 0.5)
                .max_by(|x, y| x.0.iou(&face.face).total_cmp(&y.0.iou(&face.face)))
                .map(|&(_, mouth)| mouth);
            warp_mouth(
                &mut image,
                &Smile::of(&FaceFrame::of(face, mouth), strength),
            );
        }
        let after = self.analyze(&image)?;
        Ok(HappierEdit {
            image,
            before,
            after,
        })
    }
}

/// A face's smile edit: control points and how far each moves.
#[derive(Debug, Clone, PartialEq)]
struct Smile {
    /// `(point, displacement, σ)` in image pixels.
    controls: Vec<([f32; 2], [f32; 2], f32)>,
}

impl Smile {
    /// The edit of the face in `frame` at `strength`.
    fn of(frame: &FaceFrame, strength: f32) -> Self {
        let &FaceFrame {
            mouth,
            across,
            up,
            scale,
        } = frame;
        let at = |a: f32, u: f32| {
            [
                mouth[0] + scale * (a * across[0] + u * up[0]),
                mouth[1] + scale * (a * across[1] + u * up[1]),
            ]
        };
        let towards = |a: f32, u: f32| {
            let k = strength * scale;
            [
                k * (a * across[0] + u * up[0]),
                k * (a * across[1] + u * up[1]),
            ]
        };
        // A relaxed mouth is about 0.85 eye distances wide. Each displacement stays under
        // 0.45 σ per unit of strength, so at the largest strength (2) the warp's gradient
        // stays under 0.55 and nothing folds; the nose, 0.6 eye distances from the corners
        // and cheek points, moves by about a pixel.
        let corner = 0.42;
        let controls = vec![
            // Mouth corners: up and out.
            (at(-corner, 0.0), towards(-0.04, 0.11), 0.28 * scale),
            (at(corner, 0.0), towards(0.04, 0.11), 0.28 * scale),
            // Cheeks: raised.
            (at(-0.68, 0.35), towards(0.0, 0.035), 0.22 * scale),
            (at(0.68, 0.35), towards(0.0, 0.035), 0.22 * scale),
        ];
        // The corners' fields overlap at the mouth's centre; a smile lifts the corners
        // against the centre, so a last control there cancels what reaches it.
        let mut smile = Self { controls };
        let drift = smile.displacement(mouth);
        smile
            .controls
            .push((mouth, [-drift[0], -drift[1]], 0.2 * scale));
        smile
    }

    /// Where the warp moves point `p`.
    fn displacement(&self, p: [f32; 2]) -> [f32; 2] {
        let mut d = [0.0, 0.0];
        for &(c, v, sigma) in &self.controls {
            let r2 = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
            let w = (-r2 / (2.0 * sigma * sigma)).exp();
            d[0] += w * v[0];
            d[1] += w * v[1];
        }
        d
    }

    /// The pixel box the edit touches (3σ around every control point), clipped to a
    /// `width × height` image; `None` when it lies outside.
    fn region(&self, width: u32, height: u32) -> Option<[u32; 4]> {
        let mut bounds = [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        for &(c, v, sigma) in &self.controls {
            let reach = 3.0 * sigma + v[0].abs().max(v[1].abs());
            bounds[0] = bounds[0].min(c[0] - reach);
            bounds[1] = bounds[1].min(c[1] - reach);
            bounds[2] = bounds[2].max(c[0] + reach);
            bounds[3] = bounds[3].max(c[1] + reach);
        }
        let x0 = bounds[0].floor().clamp(0.0, width as f32) as u32;
        let y0 = bounds[1].floor().clamp(0.0, height as f32) as u32;
        let x1 = bounds[2].ceil().clamp(0.0, width as f32) as u32;
        let y1 = bounds[3].ceil().clamp(0.0, height as f32) as u32;
        (x1 > x0 && y1 > y0).then_some([x0, y0, x1 - x0, y1 - y0])
    }
}

/// A face's mouth, axes and scale, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FaceFrame {
    /// The mouth's centre.
    mouth: [f32; 2],
    /// Unit vector from the image-left eye to the image-right eye.
    across: [f32; 2],
    /// Unit vector from the mouth towards the eyes.
    up: [f32; 2],
    /// The distance between the eyes.
    scale: f32,
}

impl FaceFrame {
    /// From the eyes when they were found, otherwise from the box, as an upright face whose
    /// eyes sit at 30 % and 70 % of its width. The mouth is `mouth` (BlazeFace's key point)
    /// when given, else 0.95 eye distances below the eyes' midpoint (average adult
    /// proportions).
    fn of(face: &FaceAnalysis, mouth: Option<[f32; 2]>) -> Self {
        let b = face.face;
        let (left, right) = match face.eyes {
            Some([left, right]) if left != right => (left, right),
            _ => (
                [b.x + 0.3 * b.width, b.y + 0.38 * b.height],
                [b.x + 0.7 * b.width, b.y + 0.38 * b.height],
            ),
        };
        let delta = [right[0] - left[0], right[1] - left[1]];
        let scale = delta[0].hypot(delta[1]).max(1.0);
        let across = [delta[0] / scale, delta[1] / scale];
        // Image y grows downwards: "up" on the face is the across vector turned a quarter
        // anticlockwise on screen.
        let up = [across[1], -across[0]];
        let middle = [(left[0] + right[0]) / 2.0, (left[1] + right[1]) / 2.0];
        let mouth = mouth.unwrap_or([
            middle[0] - 0.95 * scale * up[0],
            middle[1] - 0.95 * scale * up[1],
        ]);
        Self {
            mouth,
            across,
            up,
            scale,
        }
    }
}

/// Applies `smile` to `image` in place, resampling only the region it touches, in the
/// image's own pixel type (8-bit, 16-bit or float).
fn warp_mouth(image: &mut DynamicImage, smile: &Smile) {
    let (width, height) = image.dimensions();
    let Some(region) = smile.region(width, height) else {
        return;
    };
    match image {
        DynamicImage::ImageLuma8(b) => warp_region(b, region, smile),
        DynamicImage::ImageLumaA8(b) => warp_region(b, region, smile),
        DynamicImage::ImageRgb8(b) => warp_region(b, region, smile),
        DynamicImage::ImageRgba8(b) => warp_region(b, region, smile),
        DynamicImage::ImageLuma16(b) => warp_region(b, region, smile),
        DynamicImage::ImageLumaA16(b) => warp_region(b, region, smile),
        DynamicImage::ImageRgb16(b) => warp_region(b, region, smile),
        DynamicImage::ImageRgba16(b) => warp_region(b, region, smile),
        DynamicImage::ImageRgb32F(b) => warp_region(b, region, smile),
        DynamicImage::ImageRgba32F(b) => warp_region(b, region, smile),
        other => {
            let mut rgba = other.to_rgba32f();
            warp_region(&mut rgba, region, smile);
            *other = DynamicImage::ImageRgba32F(rgba);
        }
    }
}

/// Warps the `[x, y, width, height]` region of `buffer` by `smile`.
fn warp_region<P>(buffer: &mut ImageBuffer<P, Vec<P::Subpixel>>, region: [u32; 4], smile: &Smile)
where
    P: Pixel + Send + Sync + 'static,
    P::Subpixel: Send + Sync + Into<f32> + Clamp<f32> + 'static,
{
    let [x0, y0, w, h] = region;
    let patch = image::imageops::crop_imm(buffer, x0, y0, w, h).to_image();
    let (dx, dy) = (x0 as f32, y0 as f32);
    // Output pixel q takes the input at q − d(q): for displacements whose gradient stays
    // well under 1 (as STRENGTH_RANGE keeps them), this inverts the forward warp closely.
    let warped = warp_with(
        &patch,
        |x, y| {
            let d = smile.displacement([x + dx, y + dy]);
            (x - d[0], y - d[1])
        },
        Interpolation::Bilinear,
        Border::Replicate,
    );
    image::imageops::replace(buffer, &warped, i64::from(x0), i64::from(y0));
}

#[cfg(test)]
mod tests;
