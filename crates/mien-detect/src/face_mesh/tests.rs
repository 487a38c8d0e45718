//! The face mesh against the TFLite runtime (`fixtures/face_mesh_tflite.json`, written by
//! `tools/tflite_to_safetensors.py`), its interpreter against its burn module, and the
//! faces it refuses.

use super::*;
use proptest::prelude::*;

fn fixture() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/face_mesh_tflite.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `tools/tflite_to_safetensors.py`'s `fixed_input` for a 192×192×3 input, channel-first.
fn fixed_input() -> Vec<f32> {
    let side = INPUT_SIDE;
    let mut chw = Vec::with_capacity(3 * side * side);
    for c in 0..3 {
        for y in 0..side {
            for x in 0..side {
                let checker = ((x / 8 + y / 8) % 2) as f32;
                let v = x as f32 / side as f32 + c as f32 * 0.25 + 0.1 * checker;
                chw.push(v % 1.0);
            }
        }
    }
    chw
}

fn cpu_mesh() -> FaceMesh {
    FaceMesh::bundled(&mien_core::device::cpu()).unwrap()
}

#[test]
fn the_interpreter_reproduces_the_tflite_runtime_within_1e_3() {
    let mesh = cpu_mesh();
    let outputs = mesh.native.as_ref().unwrap().run(&fixed_input()).unwrap();
    let reference = fixture();
    let points: Vec<f64> =
        serde_json::from_value(reference["outputs"]["conv2d_21"].clone()).unwrap();
    let logit: Vec<f64> =
        serde_json::from_value(reference["outputs"]["conv2d_31"].clone()).unwrap();
    assert_eq!(outputs[0].len(), points.len());
    let worst = outputs[0]
        .iter()
        .zip(&points)
        .map(|(&a, &b)| (f64::from(a) - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "largest difference {worst}");
    let score = 1.0 / (1.0 + (-logit[0]).exp());
    assert!(
        (f64::from(outputs[1][0]) - score).abs() < 1e-6,
        "{} vs {score}",
        outputs[1][0]
    );
}

#[test]
fn the_burn_module_equals_the_interpreter() {
    let mesh = cpu_mesh();
    let device = mien_core::device::cpu();
    let input = fixed_input();
    let native = mesh.native.as_ref().unwrap().run(&input).unwrap();
    let side = INPUT_SIDE;
    let tensor = Tensor::<4>::from_data(TensorData::new(input, [1, 3, side, side]), &device);
    let (points, score) = mesh.net.forward(tensor);
    let points = mien_core::read_f32(points).unwrap();
    let score = mien_core::read_f32(score).unwrap();
    for (a, b) in native[0].iter().zip(&points) {
        assert!((a - b).abs() < 1e-3, "native {a}, burn {b}");
    }
    assert!((native[1][0] - score[0]).abs() < 1e-6);
}

#[test]
fn a_crop_point_returns_to_the_photo_through_the_rotation() {
    let face = FaceBox::new(100.0, 50.0, 40.0, 40.0, 1.0);
    let level = Crop::new(&face, None);
    // The input's centre is the box's centre; its corner is 1.5 box sides across.
    assert_eq!(level.to_photo([96.0, 96.0, 0.0]), [120.0, 70.0, 0.0]);
    let [x, y, z] = level.to_photo([0.0, 0.0, 192.0]);
    assert!((x - 90.0).abs() < 1e-4 && (y - 40.0).abs() < 1e-4 && (z - 60.0).abs() < 1e-4);
    // Eyes one above the other: the input's x axis runs down the photo.
    let eyes = Eyes {
        left: (120.0, 60.0),
        right: (120.0, 80.0),
    };
    let [x, y, _] = Crop::new(&face, Some(&eyes)).to_photo([192.0, 96.0, 0.0]);
    assert!(
        (x - 120.0).abs() < 1e-4 && (y - 100.0).abs() < 1e-4,
        "{x}, {y}"
    );
}

#[test]
fn small_faces_and_faces_cut_by_the_border_get_no_landmarks() {
    let mesh = cpu_mesh();
    let photo = RgbImage::new(200, 100);
    let small = FaceBox::new(10.0, 10.0, 20.0, 16.0, 1.0);
    assert_eq!(
        mesh.landmarks(&photo, &small, None),
        Err(NoLandmarks::TooSmall { side: 20.0 })
    );
    let cut = FaceBox::new(180.0, 10.0, 40.0, 40.0, 1.0);
    let error = mesh.landmarks(&photo, &cut, None).unwrap_err();
    assert_eq!(error, NoLandmarks::CutByBorder { inside: 0.5 });
    assert!(error.to_string().contains("50 %"), "{error}");
    // A black photo holds no face.
    let blank = FaceBox::new(50.0, 20.0, 60.0, 60.0, 1.0);
    assert!(matches!(
        mesh.landmarks(&photo, &blank, None),
        Err(NoLandmarks::NotAFace { .. })
    ));
}

#[test]
fn the_sample_photo_gets_a_mesh_where_blazeface_sees_the_eyes() {
    let device = mien_core::device::cpu();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/astronaut.jpg");
    let photo = image::open(path).unwrap();
    let detector = crate::BlazeFaceDetector::bundled(&device).unwrap();
    let found = detector.detect_faces(&photo).unwrap().remove(0);
    let eyes = found.eyes();
    let rgb = photo.to_rgb8();
    let landmarks = cpu_mesh()
        .landmarks(&rgb, &found.face, Some(&eyes))
        .unwrap();
    assert_eq!(landmarks.points.len(), POINTS);
    assert!(landmarks.score > 0.9, "score {}", landmarks.score);
    let mesh_eyes = landmarks.eye_centres();
    let width = found.face.width;
    for (mesh, blaze) in [(mesh_eyes.left, eyes.left), (mesh_eyes.right, eyes.right)] {
        let distance = ((mesh.0 - blaze.0).powi(2) + (mesh.1 - blaze.1).powi(2)).sqrt();
        assert!(
            distance < 0.08 * width,
            "mesh eye {mesh:?}, BlazeFace eye {blaze:?}"
        );
    }
    let [left, right] = landmarks.mouth_corners();
    assert!(left.0 < right.0 && left.1 > mesh_eyes.left.1 && right.1 > mesh_eyes.right.1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_box_on_any_photo_gives_landmarks_or_a_reason(
        w in 1u32..64, h in 1u32..64,
        x in -100f32..100.0, y in -100f32..100.0, side in 0f32..120.0,
    ) {
        let photo = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 90]));
        let face = FaceBox::new(x, y, side, side, 1.0);
        match cpu_mesh().landmarks(&photo, &face, None) {
            Ok(landmarks) => prop_assert_eq!(landmarks.points.len(), POINTS),
            Err(why) => prop_assert!(!why.to_string().is_empty()),
        }
    }
}
