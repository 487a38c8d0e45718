//! The basic facial expressions and the two label sets (FER2013, FER+) that index them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A basic facial expression.
///
/// The variants are the union of FER2013's seven classes and FER+'s eighth, `Contempt`.
/// A model's output index means nothing without its [`LabelSet`]: FER2013 and FER+ order
/// the same emotions differently.
///
/// Names parse case-insensitively and accept FER+'s noun spellings as aliases
/// (`"anger"`, `"happiness"`, `"sadness"`) and `"surprised"`:
///
/// ```
/// use mien_core::Emotion;
/// assert_eq!("Happiness".parse::<Emotion>().unwrap(), Emotion::Happy);
/// assert_eq!(Emotion::Happy.to_string(), "happy");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    /// Anger (FER2013 class 0, FER+ class 4).
    #[serde(alias = "anger")]
    Angry,
    /// Disgust (FER2013 class 1, FER+ class 5).
    Disgust,
    /// Fear (FER2013 class 2, FER+ class 6).
    Fear,
    /// Happiness (FER2013 class 3, FER+ class 1).
    #[serde(alias = "happiness")]
    Happy,
    /// Sadness (FER2013 class 4, FER+ class 3).
    #[serde(alias = "sadness")]
    Sad,
    /// Surprise (FER2013 class 5, FER+ class 2).
    #[serde(alias = "surprised")]
    Surprise,
    /// No expression (FER2013 class 6, FER+ class 0).
    Neutral,
    /// Contempt (FER+ class 7; not in FER2013).
    Contempt,
}

impl Emotion {
    /// Every emotion, FER2013's seven in their index order followed by contempt.
    pub const ALL: [Emotion; 8] = [
        Emotion::Angry,
        Emotion::Disgust,
        Emotion::Fear,
        Emotion::Happy,
        Emotion::Sad,
        Emotion::Surprise,
        Emotion::Neutral,
        Emotion::Contempt,
    ];

    /// The canonical lowercase name, as Kaggle's FER2013 class folders spell it
    /// (`"angry"`, `"happy"`, …, plus `"contempt"`).
    pub const fn name(self) -> &'static str {
        match self {
            Emotion::Angry => "angry",
            Emotion::Disgust => "disgust",
            Emotion::Fear => "fear",
            Emotion::Happy => "happy",
            Emotion::Sad => "sad",
            Emotion::Surprise => "surprise",
            Emotion::Neutral => "neutral",
            Emotion::Contempt => "contempt",
        }
    }

    /// The noun FER+'s label file uses for this emotion (`"anger"`, `"happiness"`, …).
    pub const fn ferplus_name(self) -> &'static str {
        match self {
            Emotion::Angry => "anger",
            Emotion::Happy => "happiness",
            Emotion::Sad => "sadness",
            other => other.name(),
        }
    }
}

impl fmt::Display for Emotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Emotion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Emotion::ALL
            .into_iter()
            .find(|e| e.name() == wanted || e.ferplus_name() == wanted)
            .or_else(|| (wanted == "surprised").then_some(Emotion::Surprise))
            .ok_or_else(|| Error::UnknownEmotion(s.to_owned()))
    }
}

/// An ordered set of class labels: what index `i` of a model's output means.
///
/// ```
/// use mien_core::{Emotion, LabelSet};
/// assert_eq!(LabelSet::Fer2013.emotion(3), Some(Emotion::Happy));
/// assert_eq!(LabelSet::FerPlus.index_of(Emotion::Happy), Some(1));
/// // FER+ index 1 (happiness) is FER2013 index 3.
/// assert_eq!(LabelSet::FerPlus.convert_index(1, LabelSet::Fer2013), Some(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelSet {
    /// FER2013's seven classes: angry, disgust, fear, happy, sad, surprise, neutral.
    #[default]
    Fer2013,
    /// FER+'s eight classes: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt.
    #[serde(alias = "ferplus", alias = "fer+")]
    FerPlus,
}

const FER2013_ORDER: [Emotion; 7] = [
    Emotion::Angry,
    Emotion::Disgust,
    Emotion::Fear,
    Emotion::Happy,
    Emotion::Sad,
    Emotion::Surprise,
    Emotion::Neutral,
];

const FERPLUS_ORDER: [Emotion; 8] = [
    Emotion::Neutral,
    Emotion::Happy,
    Emotion::Surprise,
    Emotion::Sad,
    Emotion::Angry,
    Emotion::Disgust,
    Emotion::Fear,
    Emotion::Contempt,
];

impl LabelSet {
    /// The emotions in this set's index order.
    pub const fn emotions(self) -> &'static [Emotion] {
        match self {
            LabelSet::Fer2013 => &FER2013_ORDER,
            LabelSet::FerPlus => &FERPLUS_ORDER,
        }
    }

    /// Number of classes: 7 for FER2013, 8 for FER+.
    pub const fn num_classes(self) -> usize {
        self.emotions().len()
    }

    /// The emotion at class index `index`, or `None` when it is out of range.
    pub fn emotion(self, index: usize) -> Option<Emotion> {
        self.emotions().get(index).copied()
    }

    /// The class index of `emotion` in this set, or `None` for contempt in FER2013.
    pub fn index_of(self, emotion: Emotion) -> Option<usize> {
        self.emotions().iter().position(|&e| e == emotion)
    }

    /// Maps a class index of this set to the same emotion's index in `target`.
    ///
    /// `None` when `index` is out of range or the emotion does not exist in `target`
    /// (FER+ contempt has no FER2013 class).
    pub fn convert_index(self, index: usize, target: LabelSet) -> Option<usize> {
        target.index_of(self.emotion(index)?)
    }
}

impl fmt::Display for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            LabelSet::Fer2013 => "fer2013",
            LabelSet::FerPlus => "ferplus",
        })
    }
}

impl FromStr for LabelSet {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fer2013" => Ok(LabelSet::Fer2013),
            "ferplus" | "fer+" => Ok(LabelSet::FerPlus),
            _ => Err(Error::UnknownLabelSet(s.to_owned())),
        }
    }
}

/// A probability for each class of a [`LabelSet`], as a classifier returns them for one face.
///
/// ```
/// use mien_core::{Emotion, EmotionProbabilities, LabelSet};
/// let probs = EmotionProbabilities::new(
///     LabelSet::Fer2013,
///     vec![0.05, 0.0, 0.05, 0.7, 0.1, 0.05, 0.05],
/// )
/// .unwrap();
/// assert_eq!(probs.top(), (Emotion::Happy, 0.7));
/// assert_eq!(probs.get(Emotion::Sad), Some(0.1));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmotionProbabilities {
    label_set: LabelSet,
    probabilities: Vec<f32>,
}

impl EmotionProbabilities {
    /// Wraps one probability per class of `label_set`.
    ///
    /// # Errors
    /// [`Error::ClassCountMismatch`] when the vector's length is not the set's class count.
    pub fn new(label_set: LabelSet, probabilities: Vec<f32>) -> Result<Self, Error> {
        if probabilities.len() != label_set.num_classes() {
            return Err(Error::ClassCountMismatch {
                label_set,
                expected: label_set.num_classes(),
                actual: probabilities.len(),
            });
        }
        Ok(Self {
            label_set,
            probabilities,
        })
    }

    /// The label set that gives each probability its meaning.
    pub fn label_set(&self) -> LabelSet {
        self.label_set
    }

    /// The probabilities in the label set's index order.
    pub fn as_slice(&self) -> &[f32] {
        &self.probabilities
    }

    /// The probability of `emotion`, or `None` when the label set lacks it.
    pub fn get(&self, emotion: Emotion) -> Option<f32> {
        Some(self.probabilities[self.label_set.index_of(emotion)?])
    }

    /// The most probable emotion and its probability (the first one on ties).
    pub fn top(&self) -> (Emotion, f32) {
        let (index, &p) = self
            .probabilities
            .iter()
            .enumerate()
            .fold(None, |best: Option<(usize, &f32)>, (i, p)| match best {
                Some((_, bp)) if bp >= p => best,
                _ => Some((i, p)),
            })
            .expect("a label set is never empty");
        (self.label_set.emotions()[index], p)
    }

    /// Pairs of (emotion, probability) in the label set's order.
    pub fn iter(&self) -> impl Iterator<Item = (Emotion, f32)> + '_ {
        self.label_set
            .emotions()
            .iter()
            .copied()
            .zip(self.probabilities.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fer2013_order_matches_the_dataset() {
        let names: Vec<_> = LabelSet::Fer2013
            .emotions()
            .iter()
            .map(|e| e.name())
            .collect();
        assert_eq!(
            names,
            [
                "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"
            ]
        );
    }

    #[test]
    fn ferplus_order_matches_the_label_file() {
        let names: Vec<_> = LabelSet::FerPlus
            .emotions()
            .iter()
            .map(|e| e.ferplus_name())
            .collect();
        assert_eq!(
            names,
            [
                "neutral",
                "happiness",
                "surprise",
                "sadness",
                "anger",
                "disgust",
                "fear",
                "contempt"
            ]
        );
    }

    #[test]
    fn ferplus_to_fer2013_mapping_by_hand() {
        // FER+ index -> FER2013 index, read off the two orders.
        let expected = [
            Some(6),
            Some(3),
            Some(5),
            Some(4),
            Some(0),
            Some(1),
            Some(2),
            None,
        ];
        for (ferplus, want) in expected.into_iter().enumerate() {
            assert_eq!(
                LabelSet::FerPlus.convert_index(ferplus, LabelSet::Fer2013),
                want
            );
        }
        assert_eq!(LabelSet::Fer2013.convert_index(7, LabelSet::FerPlus), None);
    }

    #[test]
    fn display_honours_width_and_alignment() {
        assert_eq!(format!("[{:>8}]", Emotion::Sad), "[     sad]");
        assert_eq!(format!("[{:<9}]", LabelSet::FerPlus), "[ferplus  ]");
    }

    #[test]
    fn unknown_names_are_errors_that_quote_the_input() {
        let err = "smug".parse::<Emotion>().unwrap_err();
        assert!(err.to_string().contains("\"smug\""), "{err}");
        assert!("fer2014".parse::<LabelSet>().is_err());
    }

    #[test]
    fn serde_uses_names_and_accepts_aliases() {
        assert_eq!(serde_json::to_string(&Emotion::Happy).unwrap(), "\"happy\"");
        let parsed: Emotion = serde_json::from_str("\"happiness\"").unwrap();
        assert_eq!(parsed, Emotion::Happy);
        let set: LabelSet = serde_json::from_str("\"ferplus\"").unwrap();
        assert_eq!(set, LabelSet::FerPlus);
    }

    #[test]
    fn probabilities_reject_wrong_lengths_and_pick_first_max() {
        assert!(EmotionProbabilities::new(LabelSet::FerPlus, vec![0.0; 7]).is_err());
        let tie = EmotionProbabilities::new(
            LabelSet::FerPlus,
            vec![0.4, 0.4, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
        .unwrap();
        assert_eq!(tie.top(), (Emotion::Neutral, 0.4));
        assert_eq!(tie.get(Emotion::Contempt), Some(0.0));
    }

    proptest! {
        #[test]
        fn index_name_round_trips(set in prop_oneof![Just(LabelSet::Fer2013), Just(LabelSet::FerPlus)],
                                  index in 0usize..8) {
            match set.emotion(index) {
                Some(e) => {
                    prop_assert_eq!(set.index_of(e), Some(index));
                    prop_assert_eq!(e.to_string().parse::<Emotion>().unwrap(), e);
                    prop_assert_eq!(e.ferplus_name().parse::<Emotion>().unwrap(), e);
                    prop_assert_eq!(e.name().to_uppercase().parse::<Emotion>().unwrap(), e);
                }
                None => prop_assert!(index >= set.num_classes()),
            }
        }

        #[test]
        fn conversion_there_and_back_is_identity(index in 0usize..7) {
            let ferplus = LabelSet::Fer2013.convert_index(index, LabelSet::FerPlus).unwrap();
            prop_assert_eq!(LabelSet::FerPlus.convert_index(ferplus, LabelSet::Fer2013), Some(index));
        }
    }
}
