//! The 468-point face mesh: MediaPipe's face landmark network (Apache-2.0), converted from
//! `face_landmark.tflite` in the PyPI `mediapipe` 0.10.14 wheel by
//! `tools/tflite_to_safetensors.py --mien face_mesh` and bundled (2.4 MB).
//!
//! A face is cut out as MediaPipe does it: a square 1.5 times the detected box's larger side,
//! turned so that the eyes are level when the detector found them, resampled to 192×192. The
//! network places the mesh in that square; the points come back in the photo's pixels.
//!
//! ```no_run
//! use mien_detect::face_mesh::FaceMesh;
//! use mien_detect::BlazeFaceDetector;
//! let device = mien_core::device::cpu();
//! let detector = BlazeFaceDetector::bundled(&device).unwrap();
//! let mesh = FaceMesh::bundled(&device).unwrap();
//! let photo = mien_core::open_image("portrait.jpg").unwrap().to_rgb8();
//! for found in detector.detect_faces(&photo.clone().into()).unwrap() {
//!     match mesh.landmarks(&photo, &found.face, Some(&found.eyes())) {
//!         Ok(landmarks) => println!("eyes at {:?}", landmarks.eye_centres()),
//!         Err(why) => println!("no landmarks: {why}"),
//!     }
//! }
//! ```

mod net;

pub use net::{ConvPRelu, FaceMeshNet, Head, INPUT_SIDE, POINTS, ResidualBlock};

use burn::prelude::*;
use image::RgbImage;
use mien_core::FaceBox;
use mien_core::graph::NativeNetwork;

use crate::DetectError;
use crate::align::{CropConfig, Eyes, crop};

/// The network's name in errors.
const NETWORK: &str = "face mesh";

/// The square cut around a face is this many times the box's larger side (MediaPipe's
/// `scale_x`/`scale_y` of 1.5): a margin of a quarter on every side.
const CROP_MARGIN: f32 = 0.25;

/// Faces whose box's larger side is below this many pixels get no landmarks: the network
/// would read a 192-pixel blow-up of a few dozen pixels.
pub const MIN_FACE_SIDE: f32 = 24.0;

/// Faces with less than this share of their box inside the photo get no landmarks.
pub const MIN_INSIDE: f32 = 0.75;

/// Inputs the network scores below this are not taken for faces (MediaPipe's default
/// `min_tracking_confidence`).
pub const MIN_SCORE: f32 = 0.5;

/// Contour points of the eye on the image's left (the person's right eye) and on its right,
/// as MediaPipe's `FACEMESH_RIGHT_EYE` and `FACEMESH_LEFT_EYE` list them.
const EYE_CONTOURS: [[usize; 16]; 2] = [
    [
        33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
    ],
    [
        263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
    ],
];

/// The corners of the mouth: on the image's left, then on its right.
const MOUTH_CORNERS: [usize; 2] = [61, 291];

/// A face's 468 mesh points.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceLandmarks {
    /// `(x, y, z)` of each point in MediaPipe's order: x and y in photo pixels; z the depth
    /// relative to the face's centre, in the same units (smaller is nearer the camera).
    pub points: Vec<[f32; 3]>,
    /// The network's probability that its input was a face.
    pub score: f32,
}

impl FaceLandmarks {
    /// Centres of the two eyes (means of their contours): the one on the image's left first.
    pub fn eye_centres(&self) -> Eyes {
        let centre = |indices: &[usize]| {
            let n = indices.len() as f32;
            let (x, y) = indices.iter().fold((0.0, 0.0), |(x, y), &i| {
                (x + self.points[i][0], y + self.points[i][1])
            });
            (x / n, y / n)
        };
        Eyes {
            left: centre(&EYE_CONTOURS[0]),
            right: centre(&EYE_CONTOURS[1]),
        }
    }

    /// The corners of the mouth, `(x, y)`: the one on the image's left first.
    pub fn mouth_corners(&self) -> [(f32, f32); 2] {
        MOUTH_CORNERS.map(|i| (self.points[i][0], self.points[i][1]))
    }
}

/// Why a face got no landmarks.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NoLandmarks {
    /// The face is too small for the mesh.
    #[error("the face is {side:.0} pixels wide; the mesh needs at least {MIN_FACE_SIDE}")]
    TooSmall {
        /// The box's larger side, in pixels.
        side: f32,
    },
    /// The photo's border cuts the face.
    #[error(
        "only {:.0} % of the face is inside the photo; the mesh needs {:.0} %",
        inside * 100.0,
        MIN_INSIDE * 100.0
    )]
    CutByBorder {
        /// The share of the box inside the photo.
        inside: f32,
    },
    /// The network does not see a face in the box.
    #[error("the mesh network does not see a face there (score {score:.2} < {MIN_SCORE})")]
    NotAFace {
        /// The network's face probability.
        score: f32,
    },
}

/// The bundled face mesh network, run natively on the CPU and as a burn module elsewhere.
#[derive(Debug)]
pub struct FaceMesh {
    net: FaceMeshNet,
    /// [`FaceMeshNet::describe`] run by mien's interpreter when the device is the CPU.
    native: Option<NativeNetwork>,
    device: Device,
}

impl FaceMesh {
    /// The bundled weights on `device`.
    ///
    /// # Errors
    /// [`DetectError::Weights`] if the bundled file does not fit the network (a build error).
    pub fn bundled(device: &Device) -> Result<Self, DetectError> {
        Self::from_bytes(
            include_bytes!("../../weights/face_mesh.safetensors"),
            device,
        )
    }

    /// Weights from safetensors bytes as `tools/tflite_to_safetensors.py --mien face_mesh`
    /// writes them.
    ///
    /// # Errors
    /// [`DetectError::Weights`] when the bytes are not safetensors, or tensors are missing,
    /// unexpected or mis-shaped (each named).
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, DetectError> {
        let net = mien_core::weights::load_module(FaceMeshNet::new(device), bytes)
            .map_err(|e| DetectError::weights_from(NETWORK, e))?;
        let native = NativeNetwork::on_cpu(device, || net.describe())
            .map_err(|e| DetectError::weights_from(NETWORK, e))?;
        Ok(Self {
            net,
            native,
            device: device.clone(),
        })
    }

    /// The network (for its description or an export).
    pub fn net(&self) -> &FaceMeshNet {
        &self.net
    }

    /// The mesh of the face in `face` of `photo`, levelled by `eyes` when given (e.g.
    /// BlazeFace's eye key points).
    ///
    /// # Errors
    /// [`NoLandmarks`] when the face is too small, cut by the photo's border, or not seen as
    /// a face by the network.
    pub fn landmarks(
        &self,
        photo: &RgbImage,
        face: &FaceBox,
        eyes: Option<&Eyes>,
    ) -> Result<FaceLandmarks, NoLandmarks> {
        let side = face.width.max(face.height);
        if side.is_nan() || side < MIN_FACE_SIDE {
            return Err(NoLandmarks::TooSmall { side });
        }
        let inside = share_inside(face, photo.width(), photo.height());
        if inside < MIN_INSIDE {
            return Err(NoLandmarks::CutByBorder { inside });
        }
        let square = Crop::new(face, eyes);
        let config = CropConfig {
            margin: CROP_MARGIN,
            size: (INPUT_SIDE as u32, INPUT_SIDE as u32),
        };
        // One bilinear sample per pixel, as MediaPipe feeds the network.
        let input = crop(photo, face, eyes, &config, 1);
        let (raw, score) = self.run(&input);
        if score.is_nan() || score < MIN_SCORE {
            return Err(NoLandmarks::NotAFace { score });
        }
        let points = raw
            .chunks_exact(3)
            .map(|p| square.to_photo([p[0], p[1], p[2]]))
            .collect();
        Ok(FaceLandmarks { points, score })
    }

    /// The network's raw points (192-pixel input coordinates, `3 · 468` values) and face
    /// probability for one 192×192 RGB input.
    pub fn run(&self, input: &RgbImage) -> (Vec<f32>, f32) {
        if let Some(native) = &self.native {
            let hwc = input
                .as_raw()
                .iter()
                .map(|&v| f32::from(v) / 255.0)
                .collect();
            return match native.run_channel_last(hwc) {
                Ok(mut outputs) => {
                    let score = outputs[1][0];
                    (outputs.swap_remove(0), score)
                }
                Err(_) => (vec![f32::NAN; 3 * POINTS], f32::NAN),
            };
        }
        let side = INPUT_SIDE;
        let tensor = Tensor::<4>::from_data(
            TensorData::new(to_chw(input), [1, 3, side, side]),
            &self.device,
        );
        let (points, score) = self.net.forward(tensor);
        let points = mien_core::read_f32(points).unwrap_or_else(|_| vec![f32::NAN; 3 * POINTS]);
        let score = mien_core::read_f32(score).map_or(f32::NAN, |s| s[0]);
        (points, score)
    }
}

/// `[3, H, W]` values in `[0, 1]` of an RGB image.
fn to_chw(image: &RgbImage) -> Vec<f32> {
    let plane = (image.width() * image.height()) as usize;
    let mut chw = vec![0.0; 3 * plane];
    for (i, pixel) in image.pixels().enumerate() {
        for (c, &v) in pixel.0.iter().enumerate() {
            chw[c * plane + i] = f32::from(v) / 255.0;
        }
    }
    chw
}

/// The share of `face`'s area inside a `width` × `height` photo.
fn share_inside(face: &FaceBox, width: u32, height: u32) -> f32 {
    let overlap = |start: f32, length: f32, limit: u32| {
        ((start + length).min(limit as f32) - start.max(0.0)).max(0.0)
    };
    let area = face.width * face.height;
    if area.is_nan() || area <= 0.0 {
        return 0.0;
    }
    overlap(face.x, face.width, width) * overlap(face.y, face.height, height) / area
}

/// The square [`crop`] cuts for the mesh, to carry points back to the photo.
#[derive(Debug, Clone, Copy)]
struct Crop {
    centre: (f32, f32),
    side: f32,
    sin: f32,
    cos: f32,
}

impl Crop {
    fn new(face: &FaceBox, eyes: Option<&Eyes>) -> Self {
        let side = face.width.max(face.height).max(1.0) * (1.0 + 2.0 * CROP_MARGIN);
        let (sin, cos) = eyes.map_or(0.0, Eyes::roll).sin_cos();
        Self {
            centre: face.center(),
            side,
            sin,
            cos,
        }
    }

    /// A point of the network's 192-pixel input in the photo's pixels (z scaled alike).
    fn to_photo(self, [x, y, z]: [f32; 3]) -> [f32; 3] {
        let scale = self.side / INPUT_SIDE as f32;
        let (dx, dy) = (
            (x - INPUT_SIDE as f32 / 2.0) * scale,
            (y - INPUT_SIDE as f32 / 2.0) * scale,
        );
        [
            self.centre.0 + dx * self.cos - dy * self.sin,
            self.centre.1 + dx * self.sin + dy * self.cos,
            z * scale,
        ]
    }
}

#[cfg(test)]
mod tests;
