//! # mien-score
//!
//! Turning model outputs into the numbers people ask for: a smile score from 1 to 10 per
//! face, a smile level (none, mild, moderate, huge), an emoji per expression, and a rating
//! of a whole photo ("is everyone smiling, eyes open?").
//!
//! ```
//! use mien_score::{SmileScore, SmileLevel, PhotoFace, rate_photo_seed};
//! let score = SmileScore::from_intensity(0.8);          // 1 + 9 × 0.8
//! assert!((score.value() - 8.2).abs() < 1e-6);
//! assert_eq!(score.level(), SmileLevel::Huge);
//! let faces = [PhotoFace { smile: score, eyes_found: 2, eyes_open: 1.0 }];
//! assert!((rate_photo_seed(&faces).unwrap() - 1.0).abs() < 1e-6); // 0.8·1.0 + 0.2·(0.5·2/1)
//! ```

mod emoji;
mod rating;
mod smile;

pub use emoji::emoji;
pub use rating::{PhotoFace, rate_photo, rate_photo_seed};
pub use smile::{SmileLevel, SmileScore};
