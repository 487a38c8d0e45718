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
    /// The rating by the earlier projects' formula (`mien_score::rate_photo_seed`): 0.8 × the
    /// mean smile level's weight + 0.2 × the share of eyes found; `None` without faces. Read
    /// from the JSON field `rating_seed` too, its name before session 10.
    #[serde(alias = "rating_seed")]
    pub rating_by_smile_levels: Option<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rating_by_smile_levels_is_written_under_its_name_and_read_under_both() {
        let analysis = Analysis {
            width: 4,
            height: 3,
            faces: Vec::new(),
            rating: Some(0.5),
            rating_by_smile_levels: Some(0.25),
        };
        let json = serde_json::to_value(&analysis).unwrap();
        assert_eq!(json["rating_by_smile_levels"], 0.25);
        assert!(json.get("rating_seed").is_none());
        let old = r#"{"width":4,"height":3,"faces":[],"rating":0.5,"rating_seed":0.25}"#;
        assert_eq!(serde_json::from_str::<Analysis>(old).unwrap(), analysis);
    }
}
