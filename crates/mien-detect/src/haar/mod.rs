//! A pure-Rust Haar cascade detector that reproduces OpenCV 4's
//! `CascadeClassifier::detectMultiScale` (CPU path) on OpenCV's own cascade files:
//! the same scales, the same bit-exact pyramid (`INTER_LINEAR_EXACT`), the same windows,
//! variance normalisation and stage arithmetic, and `groupRectangles`.
//!
//! ```
//! use mien_detect::haar::{DetectParams, HaarCascade, opencv_gray};
//! let photo = image::DynamicImage::new_rgb8(320, 240); // a blank photo: no faces
//! let faces = HaarCascade::frontal_face().detect(&opencv_gray(&photo), &DetectParams::default())?;
//! assert!(faces.is_empty());
//! # Ok::<(), mien_detect::DetectError>(())
//! ```

mod cascade;
mod detect;
mod face_detector;
mod group;
mod integral;
mod resize;

pub use cascade::HaarCascade;
// The cascade's internals, public for the benches and tests only.
#[doc(hidden)]
pub use cascade::{HaarFeature, Stage, TreeNode, WeakClassifier, WeightedRect};
pub use detect::{DetectParams, opencv_gray};
pub use face_detector::HaarFaceDetector;
pub use group::Rect;
#[doc(hidden)]
pub use group::group_rectangles;
#[doc(hidden)]
pub use integral::Integrals;
#[doc(hidden)]
pub use resize::resize_linear_exact;
