//! The bundled eyes-open classifier on the held-out fifth of `$MIEN_DATA/eyes` (CEW patches,
//! split by face id exactly as `examples/train_eye_state.rs` split them for training).

use mien_detect::eye_state::{EyeStateClassifier, held_out};

#[test]
fn bundled_classifier_reaches_its_documented_held_out_accuracy() {
    let Some(root) = mien_core::data_dir::test_data("eyes").unwrap() else {
        return;
    };
    let classifier = EyeStateClassifier::bundled(&mien_core::device::cpu()).unwrap();
    let (mut patches, mut open) = (Vec::new(), Vec::new());
    for (class, is_open) in [("open", true), ("closed", false)] {
        for entry in std::fs::read_dir(root.join(class)).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if held_out(&stem) {
                patches.push(mien_core::open_image(&path).unwrap().to_luma8());
                open.push(is_open);
            }
        }
    }
    assert_eq!(patches.len(), 970);
    let probabilities = classifier.open_probability(&patches);
    let right = probabilities
        .iter()
        .zip(&open)
        .filter(|&(&p, &o)| (p >= 0.5) == o)
        .count();
    let accuracy = right as f64 / patches.len() as f64;
    // Documented: 93.9 % (911 of 970).
    assert!((accuracy - 0.939).abs() < 0.005, "accuracy {accuracy:.4}");
    assert!(classifier.open_probability(&[]).is_empty());
}
