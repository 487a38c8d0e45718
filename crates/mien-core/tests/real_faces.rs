//! Preprocessing on real FER2013 faces read from `$MIEN_DATA/fer2013` (skipped without it).
//!
//! Decoding must be pixel-exact (checked against the SHA-1 of the raw pixels in
//! `labels.csv`), and image → tensor → image must give the same pixels back.

use std::path::PathBuf;

use mien_core::{Preprocessing, device, open_image};
use sha1_smol::Sha1;

/// The first `n` PublicTest rows of `labels.csv`: (image path, pixel SHA-1); `None` when the
/// data is absent (the test is skipped).
fn public_test_rows(n: usize) -> Option<Vec<(PathBuf, String)>> {
    let root = mien_core::data_dir::test_data("fer2013").unwrap()?;
    let labels = std::fs::read_to_string(root.join("labels.csv")).expect("fer2013/labels.csv");
    let rows = labels
        .lines()
        .skip(1)
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| fields[1] == "PublicTest")
        .take(n)
        .map(|fields| (root.join(fields[4]), fields[5].to_owned()))
        .collect();
    Some(rows)
}

#[test]
fn fer2013_faces_decode_exactly_and_survive_the_tensor_round_trip() {
    let Some(rows) = public_test_rows(16) else {
        return;
    };
    assert_eq!(rows.len(), 16);
    let faces: Vec<_> = rows
        .iter()
        .map(|(path, sha1)| {
            let face = open_image(path).unwrap().to_luma8();
            assert_eq!(face.dimensions(), (48, 48), "{}", path.display());
            assert_eq!(
                &Sha1::from(face.as_raw()).digest().to_string(),
                sha1,
                "{}",
                path.display()
            );
            face
        })
        .collect();

    let pre = Preprocessing::default().with_mean_std(vec![0.5], vec![0.25]);
    let tensor = pre.gray_batch(&faces, &device::cpu()).unwrap();
    assert_eq!(tensor.dims(), [16, 1, 48, 48]);
    let back = pre.images_from_tensor(tensor).unwrap();
    for (face, restored) in faces.iter().zip(back) {
        assert_eq!(face, &restored.to_luma8());
    }
}
