//! The real FER2013 in `$MIEN_DATA/fer2013` (skipped without it): every image loads
//! and the class counts are the documented ones.

use mien_data::{LabelMode, LabelledDataset, LoadOptions, Split, load};

#[test]
fn shared_fer2013_has_the_documented_counts() {
    let Some(root) = mien_core::data_dir::test_data("fer2013").unwrap() else {
        return;
    };
    let loaded = load(&root, &LoadOptions::default()).unwrap();
    assert!(
        loaded.skipped.is_empty(),
        "{:?}",
        &loaded.skipped[..loaded.skipped.len().min(5)]
    );
    let data = loaded.dataset;
    assert_eq!(data.len(), 28_709 + 3_589);

    // README of the data: angry, disgust, fear, happy, sad, surprise, neutral.
    let expected = [
        (Split::Training, [3995, 436, 4097, 7215, 4830, 3171, 4965]),
        (Split::PublicTest, [467, 56, 496, 895, 653, 415, 607]),
    ];
    for (split, counts) in expected {
        let labelled = LabelledDataset::new(data.split(split), LabelMode::Fer2013).unwrap();
        assert_eq!(labelled.class_counts(), counts, "{split}");
    }

    // Every image has FER+ votes; 148 + 10 are "not a face" and get no distribution.
    assert!(data.records().iter().all(|r| r.votes.is_some()));
    let soft = LabelledDataset::new(data.clone(), LabelMode::FerPlusDistribution).unwrap();
    assert!(soft.unlabelled() >= 158, "{}", soft.unlabelled());

    // The README's duplicate count: 280 PublicTest images also occur in Training.
    let mut deduplicated = data;
    assert_eq!(
        deduplicated.remove_cross_split_duplicates(Split::Training),
        280
    );
}
