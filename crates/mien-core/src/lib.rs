//! # mien-core
//!
//! The types and traits every mien crate shares:
//!
//! - [`Emotion`], [`LabelSet`] and [`EmotionProbabilities`]: the seven FER2013 expressions,
//!   FER+'s eighth (contempt), and what a model's class index means in each.
//! - [`FaceBox`]: a face rectangle with IoU, clamping, margins and squaring.
//! - [`Preprocessing`]: image → `[N, C, H, W]` tensor and back, as a value saved with a model.
//! - [`Backbone`] and [`FaceDetector`]: the traits that make architectures and detectors pluggable.
//! - [`select_device`]: the one place where Cargo features and `MIEN_DEVICE` pick a backend.
//! - [`data_dir()`]: where research data is read from (`MIEN_DATA`; no folder is guessed).
//!
//! ```
//! use mien_core::{select_device, Preprocessing};
//!
//! let device = select_device()?; // burn-flex on the CPU unless MIEN_DEVICE says otherwise
//! let photo = image::DynamicImage::new_rgb8(640, 480);
//! let batch = Preprocessing::default().batch(&[photo], &device)?;
//! assert_eq!(batch.dims(), [1, 1, 48, 48]);
//! # Ok::<(), mien_core::Error>(())
//! ```

mod backbone;
pub mod data_dir;
mod detector;
pub mod device;
mod emotion;
mod error;
mod face_box;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod graph;
mod image_io;
pub mod kernels;
pub mod native;
mod preprocess;
pub mod weights;

pub use backbone::{Backbone, InputShape};
pub use data_dir::data_dir;
pub use detector::{Detection, FaceDetector, FaceKeyPoints, WholeImage};
pub use device::{DeviceChoice, device_for, select_device};
pub use emotion::{Emotion, EmotionProbabilities, LabelSet};
pub use error::Error;
pub use face_box::FaceBox;
pub use image_io::{
    MAX_DECODED_PIXELS, MAX_SHRUNK_PNG_PIXELS, MAX_SHRUNK_PROGRESSIVE_JPEG_PIXELS, decode_image,
    open_image, rgb8,
};
pub use preprocess::{ColorMode, PixelRange, Preprocessing, ResizeFilter, read_f32};

/// Re-exported so that users of mien's types need not depend on these crates themselves.
pub use burn;
pub use image;
