//! What the analyzer says about a photo: serde types, stable for JSON consumers.

use mien_core::{Emotion, EmotionProbabilities, FaceBox};
use mien_score::{SmileLevel, SmileScore};
use serde::{Deserialize, Serialize};

/// One face of a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceAnalysis {
    /// Where the face is, in photo pixels, with the detector's confidence.
    pub face: FaceBox,
    /// Eye centres `[x, y]` in photo pixels, the eye further left in the photo first, when
    /// the detector or the eye finder located them.
    pub eyes: Option<[[f32; 2]; 2]>,
    /// Probability that the eyes are open, from the eye-state classifier.
    pub eyes_open: Option<f32>,
    /// Probability of every emotion of the model's label set.
    pub emotions: EmotionProbabilities,
    /// The most probable emotion.
    pub emotion: Emotion,
    /// Its probability.
    pub emotion_probability: f32,
    /// Emoji of the top emotion.
    pub emoji: String,
    /// Smile score, 1–10.
    pub smile: SmileScore,
    /// Smile level derived from the score.
    pub smile_level: SmileLevel,
}

/// Everything the analyzer found in one photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Photo width in pixels.
    pub width: u32,
    /// Photo height in pixels.
    pub height: u32,
    /// The faces, in the detector's order (most confident first for the default detector).
    pub faces: Vec<FaceAnalysis>,
    /// mien's photo rating in `[0, 1]` (`mien_score::rate_photo`); `None` without faces.
    pub rating: Option<f32>,
    /// The seed projects' rating formula (`mien_score::rate_photo_seed`); `None` without faces.
    pub rating_seed: Option<f32>,
}
