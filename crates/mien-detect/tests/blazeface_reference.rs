//! The burn port of BlazeFace against the original network under onnxruntime
//! (`fixtures/blazeface_reference.json`, written by `tools/blazeface_export.py` from the same
//! 256×256 input, `fixtures/blazeface_input_256.png`), and the decoded face on the sample
//! photo (`fixtures/astronaut.jpg`, a NASA portrait in the public domain).

use mien_detect::blazeface::{ANCHORS, BOX_VALUES};
use mien_detect::{BlazeFaceDetector, Engine};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn detector() -> BlazeFaceDetector {
    BlazeFaceDetector::bundled(&mien_core::device::cpu()).unwrap()
}

#[test]
fn the_cpu_device_runs_the_native_engine() {
    assert_eq!(detector().engine(), Engine::NativeCpu);
    let burn = detector().with_engine(Engine::Burn).unwrap();
    assert_eq!(burn.engine(), Engine::Burn);
    assert_eq!(
        burn.with_engine(Engine::NativeCpu).unwrap().engine(),
        Engine::NativeCpu
    );
}

#[test]
fn both_engines_match_onnxruntime() {
    for engine in [Engine::NativeCpu, Engine::Burn] {
        outputs_match_onnxruntime(&detector().with_engine(engine).unwrap());
    }
}

fn outputs_match_onnxruntime(detector: &BlazeFaceDetector) {
    let engine = detector.engine();
    let reference: serde_json::Value =
        serde_json::from_reader(std::fs::File::open(fixture("blazeface_reference.json")).unwrap())
            .unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let input = mien_core::open_image(fixture("blazeface_input_256.png")).unwrap();
    let (letterbox, logits, regressors) = detector.raw_outputs(&input).unwrap();
    assert_eq!(
        (letterbox.scale, letterbox.pad_x, letterbox.pad_y),
        (1.0, 0, 0)
    );
    assert_eq!(
        (logits.len(), regressors.len()),
        (ANCHORS, ANCHORS * BOX_VALUES)
    );

    let expected = floats(&reference["scores"]);
    let worst = logits
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    // The fixture rounds to 5 decimals; float summation order differs between runtimes.
    assert!(worst < 2e-3, "{engine:?}: largest logit difference {worst}");

    let top = reference["top_anchors"].as_array().unwrap();
    for (anchor, boxes) in top.iter().zip(reference["top_boxes"].as_array().unwrap()) {
        let anchor = anchor.as_u64().unwrap() as usize;
        let ours = &regressors[anchor * BOX_VALUES..(anchor + 1) * BOX_VALUES];
        for (a, b) in ours.iter().zip(floats(boxes)) {
            assert!(
                (a - b).abs() < 1e-2,
                "{engine:?}, anchor {anchor}: {ours:?} vs {boxes}"
            );
        }
    }
}

#[test]
fn one_face_with_level_eyes_on_the_sample_photo() {
    let photo = mien_core::open_image(fixture("astronaut.jpg")).unwrap();
    let faces = detector().detect_faces(&photo).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = faces[0];
    assert!(face.face.confidence > 0.8, "{face:?}");
    // The face of the 512×512 portrait spans about x 160–260, y 60–180.
    let (cx, cy) = face.face.center();
    assert!(
        (170.0..250.0).contains(&cx) && (80.0..160.0).contains(&cy),
        "{face:?}"
    );
    assert!((70.0..140.0).contains(&face.face.width), "{face:?}");
    let eyes = face.eyes();
    assert!(eyes.left.0 < cx && cx < eyes.right.0, "{eyes:?}");
    assert!(
        eyes.left.1 < cy && eyes.right.1 < cy,
        "eyes above the centre: {eyes:?}"
    );
    assert!(eyes.roll().to_degrees().abs() < 15.0, "{eyes:?}");
}

#[test]
fn any_image_kind_and_size_is_an_answer_not_an_error() {
    let detector = detector();
    let photo = mien_core::open_image(fixture("astronaut.jpg")).unwrap();
    let kinds = [
        ("grey", image::DynamicImage::ImageLuma8(photo.to_luma8())),
        ("rgba", image::DynamicImage::ImageRgba8(photo.to_rgba8())),
        ("rgb16", image::DynamicImage::ImageRgb16(photo.to_rgb16())),
        (
            "rgb32f",
            image::DynamicImage::ImageRgb32F(photo.to_rgb32f()),
        ),
    ];
    for (kind, image) in kinds {
        let faces = detector.detect_faces(&image).unwrap();
        assert_eq!(faces.len(), 1, "{kind}: {faces:?}");
    }
    for (w, h) in [(1, 1), (1, 300), (3000, 2), (0, 0)] {
        let blank = image::DynamicImage::new_rgb8(w, h);
        assert!(detector.detect_faces(&blank).unwrap().is_empty(), "{w}×{h}");
    }
}

#[test]
fn a_face_cut_by_the_border_is_found_and_clipped() {
    // The portrait from 40 % of the face width left of its centre: the left part of the
    // face is outside the photo.
    let photo = mien_core::open_image(fixture("astronaut.jpg")).unwrap();
    let cut = photo.crop_imm(195, 0, 512 - 195, 512);
    let faces = detector().detect_faces(&cut).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = faces[0].face;
    assert_eq!(face.x, 0.0, "clipped at the left border: {face:?}");
    assert!(
        face.right() <= cut.width() as f32 && face.width > 10.0,
        "{face:?}"
    );
}

#[test]
fn both_engines_find_the_same_face_on_a_shrunk_photo() {
    // 512×512 → 256×256: the native engine shrinks by its own area filter.
    let photo = mien_core::open_image(fixture("astronaut.jpg")).unwrap();
    let native = detector().detect_faces(&photo).unwrap();
    let burn = detector()
        .with_engine(Engine::Burn)
        .unwrap()
        .detect_faces(&photo)
        .unwrap();
    assert_eq!((native.len(), burn.len()), (1, 1));
    let (a, b) = (native[0].face, burn[0].face);
    for (x, y) in [
        (a.x, b.x),
        (a.y, b.y),
        (a.width, b.width),
        (a.height, b.height),
    ] {
        assert!((x - y).abs() < 2.0, "{a:?} vs {b:?}");
    }
    assert!((a.confidence - b.confidence).abs() < 0.02, "{a:?} vs {b:?}");
}

#[test]
fn detections_carry_the_key_points_through_the_trait() {
    use mien_core::FaceDetector;
    let detector = detector();
    let photo = mien_core::open_image(fixture("astronaut.jpg")).unwrap();
    let native = detector.detect_faces(&photo).unwrap();
    let through_trait = detector.detections(&photo).unwrap();
    assert_eq!(native.len(), 1);
    assert_eq!(through_trait.len(), 1);
    let (face, points) = (native[0], through_trait[0].key_points.unwrap());
    assert_eq!(through_trait[0].face, face.face);
    let eyes = face.eyes();
    assert_eq!(points.left_eye, [eyes.left.0, eyes.left.1]);
    assert_eq!(points.right_eye, [eyes.right.0, eyes.right.1]);
    assert_eq!(points.mouth, [face.keypoints[3].0, face.keypoints[3].1]);
    // The mouth lies below the eyes and between them.
    assert!(points.mouth[1] > points.left_eye[1] + 20.0);
    assert!((points.left_eye[0]..points.right_eye[0]).contains(&points.mouth[0]));
}
