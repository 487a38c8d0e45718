//! The smile score (1–10) and smile levels.

use mien_core::{Emotion, EmotionProbabilities};
use serde::{Deserialize, Serialize};

/// How much a face smiles, from 1 (not at all) to 10 (as much as a face can).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct SmileScore(f32);

impl SmileScore {
    /// From a smile intensity in `[0, 1]` (a smile head's output, trained on the FER+
    /// happiness vote fraction): `1 + 9 × intensity`. Values outside `[0, 1]` are clamped;
    /// NaN counts as 0.
    pub fn from_intensity(intensity: f32) -> Self {
        let i = if intensity.is_nan() {
            0.0
        } else {
            intensity.clamp(0.0, 1.0)
        };
        Self(1.0 + 9.0 * i)
    }

    /// The fallback for models without a smile head: the probability of `happy` taken as
    /// the intensity. This is what the smile head learns to predict (the share of human
    /// raters who called the face happy), so the two scales agree on average.
    pub fn from_emotions(probabilities: &EmotionProbabilities) -> Self {
        Self::from_intensity(probabilities.get(Emotion::Happy).unwrap_or(0.0))
    }

    /// The score, in `[1, 10]`.
    pub fn value(self) -> f32 {
        self.0
    }

    /// The intensity the score came from, in `[0, 1]`.
    pub fn intensity(self) -> f32 {
        (self.0 - 1.0) / 9.0
    }

    /// The level of the score: below 3 none, below 5.5 mild, below 8 moderate, else huge
    /// (intensity thresholds 0.22, 0.5, 0.78).
    pub fn level(self) -> SmileLevel {
        match self.0 {
            s if s < 3.0 => SmileLevel::None,
            s if s < 5.5 => SmileLevel::Mild,
            s if s < 8.0 => SmileLevel::Moderate,
            _ => SmileLevel::Huge,
        }
    }
}

/// A coarse smile category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmileLevel {
    /// No smile.
    None,
    /// A slight smile.
    Mild,
    /// A clear smile.
    Moderate,
    /// A big smile or laugh.
    Huge,
}

impl SmileLevel {
    /// The seed photo rating's weight of the level: 0.2, 0.5, 0.7, 1.0.
    pub fn weight(self) -> f32 {
        match self {
            SmileLevel::None => 0.2,
            SmileLevel::Mild => 0.5,
            SmileLevel::Moderate => 0.7,
            SmileLevel::Huge => 1.0,
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            SmileLevel::None => "none",
            SmileLevel::Mild => "mild",
            SmileLevel::Moderate => "moderate",
            SmileLevel::Huge => "huge",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mien_core::LabelSet;
    use proptest::prelude::*;

    #[test]
    fn ends_levels_and_fallback_by_hand() {
        assert_eq!(SmileScore::from_intensity(0.0).value(), 1.0);
        assert_eq!(SmileScore::from_intensity(1.0).value(), 10.0);
        assert_eq!(SmileScore::from_intensity(f32::NAN).value(), 1.0);
        assert_eq!(SmileScore::from_intensity(7.0).value(), 10.0);
        assert_eq!(SmileScore::from_intensity(0.2).level(), SmileLevel::None); // 2.8
        assert_eq!(SmileScore::from_intensity(0.3).level(), SmileLevel::Mild); // 3.7
        assert_eq!(
            SmileScore::from_intensity(0.6).level(),
            SmileLevel::Moderate
        ); // 6.4
        assert_eq!(SmileScore::from_intensity(0.8).level(), SmileLevel::Huge); // 8.2
        // FER2013 order: angry disgust fear happy sad surprise neutral.
        let p =
            EmotionProbabilities::new(LabelSet::Fer2013, vec![0.05, 0.0, 0.05, 0.5, 0.1, 0.1, 0.2])
                .unwrap();
        assert!((SmileScore::from_emotions(&p).value() - 5.5).abs() < 1e-6);
        assert_eq!(SmileLevel::Moderate.weight(), 0.7);
    }

    proptest! {
        #[test]
        fn score_is_bounded_monotonic_and_round_trips(a in -2f32..3.0, b in -2f32..3.0) {
            let (sa, sb) = (SmileScore::from_intensity(a), SmileScore::from_intensity(b));
            prop_assert!((1.0..=10.0).contains(&sa.value()));
            if a <= b {
                prop_assert!(sa.value() <= sb.value());
                prop_assert!(sa.level() <= sb.level());
            }
            let clamped = a.clamp(0.0, 1.0);
            prop_assert!((sa.intensity() - clamped).abs() < 1e-5);
        }
    }
}
