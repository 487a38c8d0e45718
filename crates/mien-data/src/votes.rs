//! FER+ crowd votes and the labels derived from them.
//!
//! Ten annotators labelled every FER2013 image with one of eight emotions, "unknown" or
//! "not a face" (Barsoum et al., ICMI 2016). The vote order is the one of `fer2013new.csv`:
//! neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.

use mien_core::{Emotion, LabelSet};
use serde::{Deserialize, Serialize};

/// Index of the "unknown" vote.
pub const UNKNOWN: usize = 8;
/// Index of the "not a face" vote.
pub const NOT_A_FACE: usize = 9;

/// How a single FER+ class is derived from the votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MajorityRule {
    /// Barsoum et al.'s rule (FERPlus `majority` mode): drop single votes as outliers, then
    /// the winner needs more than half of the remaining votes; no winner, or a winner that is
    /// unknown / not-a-face, gives no label. Strict majority, so ties cannot happen.
    #[default]
    Strict,
    /// The emotion with the most votes among the eight, if it also beats unknown and NF;
    /// a tie for the most votes gives no label.
    Plurality,
}

/// The ten FER+ vote counts of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Votes(pub [u8; 10]);

impl Votes {
    /// Sum of the votes for the eight emotions (unknown and NF excluded).
    pub fn emotion_total(&self) -> u32 {
        self.0[..8].iter().map(|&v| v as u32).sum()
    }

    /// Sum of all ten counts.
    pub fn total(&self) -> u32 {
        self.0.iter().map(|&v| v as u32).sum()
    }

    /// Votes of one emotion.
    pub fn of(&self, emotion: Emotion) -> u8 {
        LabelSet::FerPlus
            .index_of(emotion)
            .map_or(0, |index| self.0[index])
    }

    /// The single FER+ class index (0..8) under `rule`, or `None` when the votes give no
    /// usable label.
    pub fn majority(&self, rule: MajorityRule) -> Option<usize> {
        match rule {
            MajorityRule::Strict => {
                let kept: Vec<u32> = self
                    .0
                    .iter()
                    .map(|&v| if v <= 1 { 0 } else { v as u32 })
                    .collect();
                let total: u32 = kept.iter().sum();
                let (winner, &max) = kept
                    .iter()
                    .enumerate()
                    .max_by_key(|&(i, v)| (v, std::cmp::Reverse(i)))?;
                (max > 0 && 2 * max > total && winner < UNKNOWN).then_some(winner)
            }
            MajorityRule::Plurality => {
                let max = *self.0[..8].iter().max()?;
                let mut winners = (0..8).filter(|&i| self.0[i] == max);
                let winner = winners.next()?;
                let unique = winners.next().is_none();
                let beats_rest = self.0[UNKNOWN] < max && self.0[NOT_A_FACE] < max;
                (max > 0 && unique && beats_rest).then_some(winner)
            }
        }
    }

    /// The votes as a probability distribution over the eight FER+ emotions, or `None` when
    /// no annotator chose an emotion, or unknown / not-a-face got at least as many votes as
    /// the best emotion.
    pub fn distribution(&self) -> Option<[f32; 8]> {
        let total = self.emotion_total();
        let best = *self.0[..8].iter().max()?;
        if total == 0 || self.0[UNKNOWN] >= best || self.0[NOT_A_FACE] >= best {
            return None;
        }
        let mut p = [0.0; 8];
        for (pi, &v) in p.iter_mut().zip(&self.0[..8]) {
            *pi = v as f32 / total as f32;
        }
        Some(p)
    }

    /// Smile intensity in `[0, 1]`: happiness votes over emotion votes; `None` without
    /// emotion votes.
    pub fn smile_intensity(&self) -> Option<f32> {
        let total = self.emotion_total();
        (total > 0).then(|| self.of(Emotion::Happy) as f32 / total as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_majority_by_hand() {
        // 6 happiness of 10: a majority.
        assert_eq!(
            Votes([2, 6, 2, 0, 0, 0, 0, 0, 0, 0]).majority(MajorityRule::Strict),
            Some(1)
        );
        // Single votes are dropped: 3 sadness vs 2 + 2 left, 3 of 7 is not > half.
        assert_eq!(
            Votes([2, 1, 1, 3, 2, 0, 0, 1, 0, 0]).majority(MajorityRule::Strict),
            None
        );
        // After dropping the 1s: 4 anger of 4 + 2 = 6 remaining, a majority.
        assert_eq!(
            Votes([1, 1, 1, 0, 4, 2, 1, 0, 0, 0]).majority(MajorityRule::Strict),
            Some(4)
        );
        // Not a face wins: no label.
        assert_eq!(
            Votes([0, 0, 0, 0, 0, 0, 0, 0, 0, 10]).majority(MajorityRule::Strict),
            None
        );
        assert_eq!(Votes([0; 10]).majority(MajorityRule::Strict), None);
    }

    #[test]
    fn plurality_by_hand() {
        assert_eq!(
            Votes([4, 3, 3, 0, 0, 0, 0, 0, 0, 0]).majority(MajorityRule::Plurality),
            Some(0)
        );
        // Tie between neutral and happiness: no label.
        assert_eq!(
            Votes([4, 4, 2, 0, 0, 0, 0, 0, 0, 0]).majority(MajorityRule::Plurality),
            None
        );
        // Unknown ties the best emotion: no label.
        assert_eq!(
            Votes([3, 2, 2, 0, 0, 0, 0, 0, 3, 0]).majority(MajorityRule::Plurality),
            None
        );
    }

    #[test]
    fn distribution_and_intensity_by_hand() {
        let v = Votes([2, 6, 2, 0, 0, 0, 0, 0, 0, 0]);
        let d = v.distribution().unwrap();
        assert_eq!(d, [0.2, 0.6, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(v.smile_intensity(), Some(0.6));
        // Unknown votes do not dilute the intensity: 3 / (3 + 3).
        assert_eq!(
            Votes([3, 3, 0, 0, 0, 0, 0, 0, 4, 0]).smile_intensity(),
            Some(0.5)
        );
        assert_eq!(Votes([3, 3, 0, 0, 0, 0, 0, 0, 4, 0]).distribution(), None);
        assert_eq!(
            Votes([0, 0, 0, 0, 0, 0, 0, 0, 0, 10]).smile_intensity(),
            None
        );
    }
}
