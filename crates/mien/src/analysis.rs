//! What the analyzer says about a photo: serde types, stable for JSON consumers.

use mien_core::{Emotion, EmotionProbabilities, FaceBox, FaceKeyPoints};
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
    /// Eyes, nose tip and mouth centre in photo pixels, from detectors that locate them
    /// (BlazeFace does, the Haar cascades do not). Absent from the JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_points: Option<FaceKeyPoints>,
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
    /// The 468-point face mesh, or why the face has none, when the analyzer was asked for
    /// landmarks (`AnalyzerBuilder::landmarks`). Absent from the JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<Landmarks>,
}

/// A face's 468-point mesh (MediaPipe's order), or why it has none. In JSON:
/// `{"found": {"points": [[x, y, z], …], "score": 0.99}}` or `{"missing": {"reason": "…"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Landmarks {
    /// The mesh.
    Found {
        /// `[x, y, z]` of each point: x and y in photo pixels, z the depth relative to the
        /// face's centre in the same units (smaller is nearer).
        points: Vec<[f32; 3]>,
        /// The mesh network's probability that the face is one.
        score: f32,
    },
    /// The face is too small, cut by the photo's border, or not seen as a face by the mesh
    /// network.
    Missing {
        /// Why, in words.
        reason: String,
    },
}

impl Landmarks {
    /// The points, when found.
    pub fn points(&self) -> Option<&[[f32; 3]]> {
        match self {
            Landmarks::Found { points, .. } => Some(points),
            Landmarks::Missing { .. } => None,
        }
    }
}

impl From<Result<mien_detect::face_mesh::FaceLandmarks, mien_detect::face_mesh::NoLandmarks>>
    for Landmarks
{
    fn from(
        result: Result<mien_detect::face_mesh::FaceLandmarks, mien_detect::face_mesh::NoLandmarks>,
    ) -> Self {
        match result {
            Ok(mesh) => Landmarks::Found {
                points: mesh.points,
                score: mesh.score,
            },
            Err(why) => Landmarks::Missing {
                reason: why.to_string(),
            },
        }
    }
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

/// One face as a row of a table: the columns `mien batch` writes to `results.csv`, the
/// Python package's data frames and the Parquet files of its distributed path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceRow {
    /// The photo, as the caller names it (`mien batch`: the path under the input folder).
    pub file: String,
    /// The face's number in its photo, from 1, in the analysis' order.
    pub face: usize,
    /// The box's left edge, in photo pixels.
    pub x: f32,
    /// The box's top edge.
    pub y: f32,
    /// The box's width.
    pub width: f32,
    /// The box's height.
    pub height: f32,
    /// The detector's confidence (1 for whole-image faces).
    pub detector_confidence: f32,
    /// The most probable emotion.
    pub emotion: Emotion,
    /// Its probability.
    pub probability: f32,
    /// Smile score, 1–10.
    pub smile: f32,
    /// Smile level name (`none` … `huge`).
    pub smile_level: String,
    /// Probability that the eyes are open; `None` without the eye-state classifier's reading.
    pub eyes_open: Option<f32>,
    /// The photo's rating (the same on every row of a photo).
    pub photo_rating: Option<f32>,
}

impl FaceRow {
    /// The column names, in order.
    pub const COLUMNS: [&'static str; 13] = [
        "file",
        "face",
        "x",
        "y",
        "width",
        "height",
        "detector_confidence",
        "emotion",
        "probability",
        "smile",
        "smile_level",
        "eyes_open",
        "photo_rating",
    ];

    /// The row as CSV fields: numbers with 4 decimals, a missing value as an empty field.
    pub fn to_record(&self) -> [String; 13] {
        let number = |v: f32| format!("{v:.4}");
        [
            self.file.clone(),
            self.face.to_string(),
            number(self.x),
            number(self.y),
            number(self.width),
            number(self.height),
            number(self.detector_confidence),
            self.emotion.to_string(),
            number(self.probability),
            number(self.smile),
            self.smile_level.clone(),
            self.eyes_open.map(number).unwrap_or_default(),
            self.photo_rating.map(number).unwrap_or_default(),
        ]
    }
}

impl Analysis {
    /// One [`FaceRow`] per face, `file` naming the photo; none for a photo without faces.
    pub fn rows(&self, file: &str) -> Vec<FaceRow> {
        self.faces
            .iter()
            .enumerate()
            .map(|(index, face)| FaceRow {
                file: file.to_owned(),
                face: index + 1,
                x: face.face.x,
                y: face.face.y,
                width: face.face.width,
                height: face.face.height,
                detector_confidence: face.face.confidence,
                emotion: face.emotion,
                probability: face.emotion_probability,
                smile: face.smile.value(),
                smile_level: face.smile_level.name().to_owned(),
                eyes_open: face.eyes_open,
                photo_rating: self.rating,
            })
            .collect()
    }
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

    #[test]
    fn each_face_is_one_row_numbered_from_one_with_the_photo_s_rating() {
        let emotions = EmotionProbabilities::new(
            mien_core::LabelSet::Fer2013,
            vec![0.05, 0.05, 0.05, 0.6, 0.1, 0.1, 0.05],
        )
        .unwrap();
        let face = |x: f32, eyes_open| FaceAnalysis {
            face: FaceBox::new(x, 20.0, 30.5, 30.5, 0.875),
            eyes: None,
            key_points: None,
            eyes_open,
            emotions: emotions.clone(),
            emotion: Emotion::Happy,
            emotion_probability: 0.6,
            emoji: String::new(),
            smile: SmileScore::from_intensity(0.5),
            smile_level: SmileLevel::Mild,
            landmarks: None,
        };
        let analysis = Analysis {
            width: 100,
            height: 80,
            faces: vec![face(10.0, Some(0.25)), face(60.125, None)],
            rating: Some(0.5),
            rating_by_smile_levels: Some(0.4),
        };
        let rows = analysis.rows("a/b.jpg");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].face, rows[1].face), (1, 2));
        assert!(
            rows.iter()
                .all(|r| r.file == "a/b.jpg" && r.photo_rating == Some(0.5))
        );
        let smile = format!("{:.4}", SmileScore::from_intensity(0.5).value());
        assert_eq!(
            rows[1].to_record(),
            [
                "a/b.jpg", "2", "60.1250", "20.0000", "30.5000", "30.5000", "0.8750", "happy",
                "0.6000", &smile, "mild", "", "0.5000"
            ]
        );
        assert_eq!(rows[0].to_record()[11], "0.2500");
        // The serde names are the columns.
        let json = serde_json::to_value(&rows[0]).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut columns = FaceRow::COLUMNS.to_vec();
        columns.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, columns);
        assert!(
            Analysis {
                faces: Vec::new(),
                ..analysis
            }
            .rows("x")
            .is_empty()
        );
    }
}
