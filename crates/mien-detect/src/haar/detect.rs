//! Multi-scale detection with a [`HaarCascade`], reproducing OpenCV 4's
//! `detectMultiScale`: the same scales, the same bit-exact pyramid, the same window
//! positions and arithmetic, the same grouping.

use image::{DynamicImage, GrayImage};
use rayon::prelude::*;

use super::cascade::HaarCascade;
use super::group::{Rect, group_rectangles};
use super::integral::Integrals;
use super::resize::resize_linear_exact;
use crate::DetectError;

/// OpenCV's `THRESHOLD_EPS`, subtracted from every stage threshold when a cascade loads.
const THRESHOLD_EPS: f32 = 1e-5;

/// OpenCV's `GROUP_EPS` for `groupRectangles`.
const GROUP_EPS: f64 = 0.2;

/// Parameters of [`HaarCascade::detect`], as OpenCV's `detectMultiScale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectParams {
    /// Ratio between consecutive scales (> 1); OpenCV's default is 1.1.
    pub scale_factor: f64,
    /// Raw detections a group needs beyond one to be kept (0 keeps every raw window).
    pub min_neighbors: usize,
    /// Smallest window, width × height; `(0, 0)` for no limit.
    pub min_size: (u32, u32),
    /// Largest window; `None` for the image size.
    pub max_size: Option<(u32, u32)>,
}

impl Default for DetectParams {
    /// OpenCV's defaults: scale factor 1.1, 3 neighbours, no size limits.
    fn default() -> Self {
        Self {
            scale_factor: 1.1,
            min_neighbors: 3,
            min_size: (0, 0),
            max_size: None,
        }
    }
}

/// A colour image converted to gray exactly as OpenCV's `cvtColor(…, COLOR_BGR2GRAY)` does
/// for 8-bit images: `(9798·R + 19235·G + 3735·B + 16384) >> 15`. Gray images are used as
/// they are; other depths are first converted to 8 bits.
pub fn opencv_gray(image: &DynamicImage) -> GrayImage {
    match image {
        DynamicImage::ImageLuma8(gray) => gray.clone(),
        DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA8(_) => image.to_luma8(),
        _ => {
            let rgb = mien_core::rgb8(image);
            let (w, h) = rgb.dimensions();
            let pixels = rgb
                .pixels()
                .map(|p| {
                    let [r, g, b] = p.0.map(u32::from);
                    ((9798 * r + 19235 * g + 3735 * b + 16384) >> 15) as u8
                })
                .collect();
            GrayImage::from_raw(w, h, pixels).expect("one value per pixel")
        }
    }
}

/// A stump-based or tree-based cascade prepared for one integral-image stride.
struct Compiled<'a> {
    cascade: &'a HaarCascade,
    /// Per feature: up to three `(weight, corner offsets, tilted)`.
    features: Vec<[(f32, [usize; 4]); 3]>,
    /// Per feature: whether it reads the tilted integral.
    tilted: Vec<bool>,
    /// Stage thresholds less `THRESHOLD_EPS`.
    stage_thresholds: Vec<f32>,
    /// Corner offsets of the inner normalisation rectangle.
    norm: [usize; 4],
    norm_area: f64,
}

impl<'a> Compiled<'a> {
    fn new(cascade: &'a HaarCascade, stride: usize) -> Self {
        let upright = |x: u32, y: u32, w: u32, h: u32| {
            let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
            [
                y * stride + x,
                y * stride + x + w,
                (y + h) * stride + x,
                (y + h) * stride + x + w,
            ]
        };
        let tilted_corners = |x: u32, y: u32, w: u32, h: u32| {
            let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
            [
                y * stride + x,
                (y + h) * stride + x - h,
                (y + w) * stride + x + w,
                (y + w + h) * stride + x + w - h,
            ]
        };
        let features = cascade
            .features
            .iter()
            .map(|f| {
                let mut out = [(0.0f32, [0usize; 4]); 3];
                for (slot, r) in out.iter_mut().zip(&f.rects) {
                    let corners = if f.tilted {
                        tilted_corners(r.x, r.y, r.width, r.height)
                    } else {
                        upright(r.x, r.y, r.width, r.height)
                    };
                    *slot = (r.weight, corners);
                }
                out
            })
            .collect();
        let (w0, h0) = (cascade.window_width, cascade.window_height);
        Self {
            cascade,
            features,
            tilted: cascade.features.iter().map(|f| f.tilted).collect(),
            stage_thresholds: cascade
                .stages
                .iter()
                .map(|s| s.threshold - THRESHOLD_EPS)
                .collect(),
            norm: upright(1, 1, w0.saturating_sub(2), h0.saturating_sub(2)),
            norm_area: f64::from(w0.saturating_sub(2)) * f64::from(h0.saturating_sub(2)),
        }
    }

    /// OpenCV's `runAt`: 1 when every stage passes, `-k` when stage `k` rejects (0 for the
    /// first), −1 when the window is too flat to normalise.
    fn run_at(&self, ii: &Integrals, origin: usize) -> i32 {
        let corners = |table: &[i32], c: &[usize; 4]| {
            table[origin + c[0]]
                .wrapping_sub(table[origin + c[1]])
                .wrapping_sub(table[origin + c[2]])
                .wrapping_add(table[origin + c[3]])
        };
        let sum = corners(&ii.sum, &self.norm);
        let n = &self.norm;
        let sq = &ii.squares;
        let squares = sq[origin + n[0]] - sq[origin + n[1]] - sq[origin + n[2]] + sq[origin + n[3]];
        let nf = self.norm_area * squares as f64 - f64::from(sum) * f64::from(sum);
        if nf.is_nan() || nf <= 0.0 {
            return -1;
        }
        let norm_factor = (1.0 / nf.sqrt()) as f32;
        if self.norm_area * f64::from(norm_factor) >= 0.1 {
            return -1;
        }
        let feature = |index: usize| -> f32 {
            let table: &[i32] = if self.tilted[index] {
                &ii.tilted
            } else {
                &ii.sum
            };
            let [(w0, c0), (w1, c1), (w2, c2)] = &self.features[index];
            let mut v = w0 * corners(table, c0) as f32 + w1 * corners(table, c1) as f32;
            if *w2 != 0.0 {
                v += w2 * corners(table, c2) as f32;
            }
            v * norm_factor
        };
        for (k, (stage, &threshold)) in self
            .cascade
            .stages
            .iter()
            .zip(&self.stage_thresholds)
            .enumerate()
        {
            let mut total = 0.0f64;
            for weak in &stage.classifiers {
                let mut node = 0usize;
                let leaf = loop {
                    let n = &weak.nodes[node];
                    let next = if feature(n.feature) < n.threshold {
                        n.left
                    } else {
                        n.right
                    };
                    if next > 0 {
                        node = next as usize;
                    } else {
                        break (-next) as usize;
                    }
                };
                total += f64::from(weak.leaves[leaf]);
            }
            if total < f64::from(threshold) {
                return -(k as i32);
            }
        }
        1
    }
}

/// One pyramid level.
struct Level {
    scale: f32,
    width: usize,
    height: usize,
}

impl HaarCascade {
    /// The scales OpenCV's `detectMultiScale` tries on an image of `width` × `height`.
    fn scales(&self, width: u32, height: u32, params: &DetectParams) -> Vec<f32> {
        let (w0, h0) = (self.window_width, self.window_height);
        if width < w0 || height < h0 {
            return Vec::new();
        }
        let mut all = Vec::new();
        let mut factor = 1.0f64;
        loop {
            let ww = (f64::from(w0) * factor).round_ties_even();
            let wh = (f64::from(h0) * factor).round_ties_even();
            if ww > f64::from(width) || wh > f64::from(height) {
                break;
            }
            all.push(factor as f32);
            factor *= params.scale_factor;
        }
        let (max_w, max_h) = params.max_size.unwrap_or((width, height));
        let (max_w, max_h) = if max_w == 0 || max_h == 0 {
            (width, height)
        } else {
            (max_w, max_h)
        };
        let (min_w, min_h) = params.min_size;
        let window = |s: f32| {
            (
                (w0 as f32 * s).round_ties_even() as i64,
                (h0 as f32 * s).round_ties_even() as i64,
            )
        };
        let mut kept = Vec::new();
        for &s in &all {
            let (ww, wh) = window(s);
            if ww > i64::from(max_w) || wh > i64::from(max_h) {
                break;
            }
            if ww < i64::from(min_w) || wh < i64::from(min_h) {
                continue;
            }
            kept.push(s);
        }
        if kept.is_empty() && !all.is_empty() {
            // OpenCV falls back to the scale whose window is nearest to min_size.
            let distance = |s: f32| {
                let (ww, wh) = window(s);
                (i64::from(min_w) - ww).pow(2) + (i64::from(min_h) - wh).pow(2)
            };
            let mut best = 0;
            for (i, &s) in all.iter().enumerate() {
                if distance(all[best]) > distance(s) {
                    best = i;
                }
            }
            kept.push(all[best]);
        }
        kept
    }

    /// Raw detections (before grouping) of a gray image, in OpenCV's scan order.
    ///
    /// # Errors
    /// [`DetectError::Parameter`] for a scale factor ≤ 1 or not finite.
    pub fn detect_raw(
        &self,
        gray: &GrayImage,
        params: &DetectParams,
    ) -> Result<Vec<Rect>, DetectError> {
        if !(params.scale_factor > 1.0 && params.scale_factor.is_finite()) {
            return Err(DetectError::Parameter(format!(
                "scale_factor = {} must be a finite number > 1",
                params.scale_factor
            )));
        }
        let (width, height) = gray.dimensions();
        let levels: Vec<Level> = self
            .scales(width, height, params)
            .into_iter()
            .map(|scale| Level {
                scale,
                width: (width as f32 / scale).round_ties_even() as usize,
                height: (height as f32 / scale).round_ties_even() as usize,
            })
            .collect();
        let Some(first) = levels.first() else {
            return Ok(Vec::new());
        };
        let (w0, h0) = (self.window_width as usize, self.window_height as usize);
        let working = |l: &Level| {
            (
                (l.width + 1).saturating_sub(w0),
                (l.height + 1).saturating_sub(h0),
            )
        };
        // OpenCV splits rows into stripes sized from the first scale's working width; the
        // last row of some scales falls outside every stripe, and is not scanned.
        let stripes = working(first).0.div_ceil(32);
        if stripes == 0 {
            return Ok(Vec::new());
        }
        let tilted = self.features.iter().any(|f| f.tilted);
        let per_level: Vec<Vec<Rect>> = levels
            .par_iter()
            .map(|level| {
                let pixels = resize_linear_exact(
                    gray.as_raw(),
                    width as usize,
                    height as usize,
                    level.width,
                    level.height,
                );
                let ii = Integrals::new(&pixels, level.width, level.height, tilted);
                let compiled = Compiled::new(self, ii.stride);
                let step = if level.scale >= 2.0 { 1 } else { 2 };
                let (work_w, work_h) = working(level);
                let stripe = ((work_h / step).div_ceil(stripes)).max(1) * step;
                let y_end = (stripes * stripe).min(work_h);
                let window = (
                    (w0 as f32 * level.scale).round_ties_even() as i32,
                    (h0 as f32 * level.scale).round_ties_even() as i32,
                );
                let mut found = Vec::new();
                for y in (0..y_end).step_by(step) {
                    let mut x = 0;
                    while x < work_w {
                        let result = compiled.run_at(&ii, y * ii.stride + x);
                        if result > 0 {
                            found.push(Rect {
                                x: (x as f32 * level.scale).round_ties_even() as i32,
                                y: (y as f32 * level.scale).round_ties_even() as i32,
                                width: window.0,
                                height: window.1,
                            });
                        }
                        if result == 0 {
                            x += step;
                        }
                        x += step;
                    }
                }
                found
            })
            .collect();
        Ok(per_level.into_iter().flatten().collect())
    }

    /// OpenCV's `detectMultiScale` on a gray image: raw detections grouped with
    /// `min_neighbors`, clipped to the image. An image smaller than the cascade's window
    /// gives no detections.
    ///
    /// # Errors
    /// [`DetectError::Parameter`] for a scale factor ≤ 1.
    pub fn detect(
        &self,
        gray: &GrayImage,
        params: &DetectParams,
    ) -> Result<Vec<Rect>, DetectError> {
        Ok(self
            .detect_with_neighbors(gray, params)?
            .into_iter()
            .map(|(r, _)| r)
            .collect())
    }

    /// [`HaarCascade::detect`], with the number of raw detections each box merges (a
    /// measure of confidence; 1 for every box when `min_neighbors` is 0).
    ///
    /// # Errors
    /// [`DetectError::Parameter`] for a scale factor ≤ 1.
    pub fn detect_with_neighbors(
        &self,
        gray: &GrayImage,
        params: &DetectParams,
    ) -> Result<Vec<(Rect, usize)>, DetectError> {
        let raw = self.detect_raw(gray, params)?;
        let grouped = group_rectangles(&raw, params.min_neighbors, GROUP_EPS);
        let (w, h) = (gray.width() as i32, gray.height() as i32);
        Ok(grouped
            .into_iter()
            .filter_map(|(r, n)| {
                let (x0, y0) = (r.x.max(0), r.y.max(0));
                let (x1, y1) = ((r.x + r.width).min(w), (r.y + r.height).min(h));
                (x1 > x0 && y1 > y0).then_some((
                    Rect {
                        x: x0,
                        y: y0,
                        width: x1 - x0,
                        height: y1 - y0,
                    },
                    n,
                ))
            })
            .collect())
    }
}
