//! "Make it happier" judged by mien's own models on FER2013's neutral PublicTest faces (read
//! whole) and on the photos of `faces_wild` (faces found by BlazeFace): the smile score rises
//! on most faces. `examples/happier_check.rs` prints the full figures (docs/HAPPIER.md).

use mien::Analyzer;

/// The share of `edits`' faces whose smile rose, and the mean rise.
fn rises(edits: &[mien::HappierEdit]) -> (f32, f32, usize) {
    let pairs: Vec<(f32, f32)> = edits.iter().flat_map(|e| e.smiles()).collect();
    let n = pairs.len().max(1) as f32;
    let rose = pairs.iter().filter(|(b, a)| a > b).count() as f32 / n;
    let mean = pairs.iter().map(|(b, a)| a - b).sum::<f32>() / n;
    (rose, mean, pairs.len())
}

#[test]
fn neutral_faces_smile_more() {
    let Some(root) = mien_core::data_dir::test_data("fer2013").unwrap() else {
        return;
    };
    let dir = root.join("PublicTest/neutral");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let analyzer = Analyzer::builder()
        .whole_image(true)
        .eye_state(false)
        .build()
        .unwrap();
    let edits: Vec<_> = paths[..200]
        .iter()
        .map(|p| {
            analyzer
                .make_happier(&mien::open_image(p).unwrap(), 1.0)
                .unwrap()
        })
        .collect();
    let (rose, mean, faces) = rises(&edits);
    assert_eq!(faces, 200);
    // Measured: 91 % of the first 200 neutral faces, +1.0 points (docs/HAPPIER.md).
    assert!(rose >= 0.85 && mean >= 0.6, "rose on {rose}, mean {mean}");
}

#[test]
fn faces_in_photos_smile_more() {
    let Some(root) = mien_core::data_dir::test_data("faces_wild").unwrap() else {
        return;
    };
    let analyzer = Analyzer::builder().eye_state(false).build().unwrap();
    let edits: Vec<_> = walkdir::WalkDir::new(&root)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x == "jpg" || x == "png")
        })
        .map(|e| {
            analyzer
                .make_happier(&mien::open_image(e.path()).unwrap(), 1.0)
                .unwrap()
        })
        .collect();
    let (rose, mean, faces) = rises(&edits);
    assert!(faces >= 50, "{faces} faces");
    assert!(rose >= 0.9 && mean >= 0.6, "rose on {rose}, mean {mean}");
}
