//! BlazeFace on real photos (`$MIEN_DATA/faces_wild`): the target of ≥ 90 % of the
//! 43 annotated faces found with ≤ 0.3 false positives per photo (the 9 annotated photos and
//! the dogs photo), and no face among the dogs.

use mien_detect::BlazeFaceDetector;
use mien_detect::evaluation::{Benchmark, evaluate};

#[test]
fn finds_nine_in_ten_faces_with_few_false_positives() {
    let Some(root) = mien_core::data_dir::test_data("faces_wild").unwrap() else {
        return;
    };
    let benchmark = Benchmark::faces_wild(&root).unwrap();
    let detector = BlazeFaceDetector::bundled(&mien_core::device::cpu()).unwrap();
    let score = evaluate(&detector, &benchmark).unwrap();
    assert_eq!((score.faces, score.photos), (43, 9));
    assert!(score.recall() >= 0.9, "{score:?}");
    assert!(score.false_positives_per_photo() <= 0.3, "{score:?}");
    assert_eq!(score.negative_detections, 0, "{score:?}");
}
