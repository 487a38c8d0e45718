//! Eyes on a real portrait (`$MIEN_DATA/faces_wild/face_recognition_examples/obama.jpg`):
//! the frontal-face cascade finds one face, the eye finder finds one eye in each half of it,
//! at about the same height, and the aligned crop has the requested size.

use mien_core::FaceDetector;
use mien_detect::align::{CropConfig, align_face};
use mien_detect::eye_state::EyeStateClassifier;
use mien_detect::eyes::EyeFinder;
use mien_detect::haar::{DetectParams, HaarFaceDetector, opencv_gray};

/// The portrait, and a detector for large frontal faces; `None` without the data (skipped).
fn portrait_and_detector() -> Option<(image::DynamicImage, HaarFaceDetector)> {
    let path = mien_core::data_dir::test_data("faces_wild")
        .unwrap()?
        .join("face_recognition_examples/obama.jpg");
    let params = DetectParams {
        min_neighbors: 5,
        min_size: (100, 100),
        ..DetectParams::default()
    };
    Some((
        mien_core::open_image(&path).unwrap(),
        HaarFaceDetector::frontal_face(params),
    ))
}

#[test]
fn one_face_two_level_eyes_on_a_portrait() {
    let Some((photo, detector)) = portrait_and_detector() else {
        return;
    };
    let faces = detector.detect(&photo).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = faces[0];
    let eyes = EyeFinder::default()
        .find(&opencv_gray(&photo), &face)
        .unwrap()
        .expect("both eyes found");
    assert!(eyes.left.0 < face.x + face.width / 2.0 && eyes.right.0 > face.x + face.width / 2.0);
    assert!(eyes.left.1 < face.y + face.height / 2.0 && eyes.right.1 < face.y + face.height / 2.0);
    assert!(
        eyes.roll().abs().to_degrees() < 15.0,
        "roll {}°",
        eyes.roll().to_degrees()
    );
    let crop = align_face(&photo, &face, Some(&eyes), &CropConfig::default());
    assert_eq!(crop.dimensions(), (48, 48));

    // His eyes are open, whether the patches follow the found eyes or the box geometry.
    let classifier = EyeStateClassifier::bundled(&mien_core::device::cpu()).unwrap();
    let gray = opencv_gray(&photo);
    let with_eyes = classifier.face_open_probability(&gray, &face, Some(&eyes));
    let from_box = classifier.face_open_probability(&gray, &face, None);
    assert!(with_eyes > 0.5 && from_box > 0.5, "{with_eyes} {from_box}");
}

#[test]
fn a_huge_photo_is_downscaled_and_its_boxes_scaled_back() {
    let Some((photo, detector)) = portrait_and_detector() else {
        return;
    };
    let face = detector.detect(&photo).unwrap()[0];
    // The same photo at 3× (2730×3411) goes through the 2048-pixel limit.
    let (w, h) = (photo.width() * 3, photo.height() * 3);
    let huge = photo.resize_exact(w, h, image::imageops::FilterType::Triangle);
    let found = detector.detect(&huge).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let big = found[0];
    let expected = mien_core::FaceBox::new(
        face.x * 3.0,
        face.y * 3.0,
        face.width * 3.0,
        face.height * 3.0,
        1.0,
    );
    assert!(big.iou(&expected) > 0.8, "{big:?} vs {expected:?}");
}
