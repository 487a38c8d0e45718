//! One emoji per expression.

use mien_core::Emotion;

/// The emoji of an emotion: 😠 🤢 😨 😄 😢 😲 😐, and 😒 for contempt.
pub fn emoji(emotion: Emotion) -> &'static str {
    match emotion {
        Emotion::Angry => "😠",
        Emotion::Disgust => "🤢",
        Emotion::Fear => "😨",
        Emotion::Happy => "😄",
        Emotion::Sad => "😢",
        Emotion::Surprise => "😲",
        Emotion::Neutral => "😐",
        Emotion::Contempt => "😒",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mien_core::LabelSet;

    #[test]
    fn every_emotion_has_its_own_emoji() {
        let all = LabelSet::FerPlus.emotions();
        let mut seen: Vec<&str> = all.iter().map(|&e| emoji(e)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 8);
        assert_eq!(emoji(Emotion::Happy), "😄");
        assert_eq!(emoji(Emotion::Contempt), "😒");
    }
}
