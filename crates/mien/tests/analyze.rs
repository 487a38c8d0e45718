//! The whole pipeline on the sample photo (`fixtures/astronaut.jpg`, public domain) and on
//! real photos from `$MIEN_DATA/faces_wild`.

use mien::{Analyzer, Emotion, LabelSet, Pretrained};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// `$MIEN_DATA/faces_wild/<name>` for each name; `None` without the data (the test is skipped).
fn faces_wild<const N: usize>(names: [&str; N]) -> Option<[image::DynamicImage; N]> {
    let root = mien_core::data_dir::test_data("faces_wild").unwrap()?;
    Some(names.map(|name| mien::open_image(root.join(name)).unwrap()))
}

fn analyzer() -> Analyzer {
    Analyzer::builder()
        .device(mien_core::device::cpu())
        .build()
        .unwrap()
}

#[test]
fn the_smiling_astronaut_is_happy_with_a_high_smile_score() {
    let analyzer = analyzer();
    assert_eq!(analyzer.label_set(), LabelSet::FerPlus);
    let photo = mien::open_image(fixture("astronaut.jpg")).unwrap();
    let analysis = analyzer.analyze(&photo).unwrap();
    assert_eq!((analysis.width, analysis.height), (512, 512));
    assert_eq!(analysis.faces.len(), 1);
    let face = &analysis.faces[0];
    assert_eq!(face.emotion, Emotion::Happy);
    assert_eq!(face.emoji, "😄");
    assert!(face.smile.value() >= 8.0, "{face:?}");
    assert!(
        face.eyes.is_some() && face.eyes_open.unwrap() > 0.5,
        "{face:?}"
    );
    let total: f32 = face.emotions.as_slice().iter().sum();
    assert!((total - 1.0).abs() < 1e-4);
    assert!(analysis.rating.unwrap() > 0.8, "{analysis:?}");

    // JSON round trip.
    let json = serde_json::to_string(&analysis).unwrap();
    let back: mien::Analysis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, analysis);
}

#[test]
fn no_faces_among_the_dogs_and_seven_in_the_group() {
    let Some([dogs, group]) = faces_wild(["dlib_misc/dogs.jpg", "dlib_pascal_voc/2007_007763.jpg"])
    else {
        return;
    };
    let analyzer = analyzer();
    let dogs = analyzer.analyze(&dogs).unwrap();
    assert!(dogs.faces.is_empty());
    assert_eq!((dogs.rating, dogs.rating_by_smile_levels), (None, None));
    // 7 annotated faces on this photo.
    let group = analyzer.analyze(&group).unwrap();
    assert!(
        (6..=8).contains(&group.faces.len()),
        "{}",
        group.faces.len()
    );
}

#[test]
fn a_batch_gives_what_single_calls_give() {
    let Some([dogs, people]) =
        faces_wild(["dlib_misc/dogs.jpg", "dlib_pascal_voc/2008_001322.jpg"])
    else {
        return;
    };
    let analyzer = analyzer();
    let photos = vec![
        mien::open_image(fixture("astronaut.jpg")).unwrap(),
        dogs,
        people,
    ];
    let batch = analyzer.analyze_batch(&photos).unwrap();
    assert_eq!(batch.len(), 3);
    for (photo, together) in photos.iter().zip(&batch) {
        let alone = analyzer.analyze(photo).unwrap();
        assert_eq!(alone.faces.len(), together.faces.len());
        for (a, b) in alone.faces.iter().zip(&together.faces) {
            assert_eq!(a.face, b.face);
            for (x, y) in a.emotions.as_slice().iter().zip(b.emotions.as_slice()) {
                assert!((x - y).abs() < 1e-4, "{a:?} vs {b:?}");
            }
        }
    }
}

#[test]
fn a_pre_cropped_face_is_read_as_one_face() {
    let photo = mien::open_image(fixture("astronaut.jpg")).unwrap();
    let crop = photo.crop_imm(165, 60, 125, 125);
    let analyzer = Analyzer::builder()
        .device(mien_core::device::cpu())
        .whole_image(true)
        .pretrained(Pretrained::Default)
        .build()
        .unwrap();
    assert_eq!(analyzer.label_set(), LabelSet::Fer2013);
    let analysis = analyzer.analyze(&crop).unwrap();
    assert_eq!(analysis.faces.len(), 1);
    let face = &analysis.faces[0];
    assert_eq!((face.face.width, face.face.height), (125.0, 125.0));
    assert_eq!(face.emotion, Emotion::Happy, "{face:?}");
    // No smile head in the default model: the score comes from P(happy).
    let p_happy = face.emotions.get(Emotion::Happy).unwrap();
    assert!((face.smile.value() - (1.0 + 9.0 * p_happy)).abs() < 1e-4);
    // Even a 1×1 image is one face, not an error.
    let tiny = analyzer
        .analyze(&image::DynamicImage::new_rgb8(1, 1))
        .unwrap();
    assert_eq!(tiny.faces.len(), 1);
}

#[test]
fn any_detector_plugs_in_and_its_faces_get_eyes_from_the_cascade() {
    use mien_detect::haar::{DetectParams, HaarFaceDetector};
    let params = DetectParams {
        min_neighbors: 5,
        min_size: (60, 60),
        ..DetectParams::default()
    };
    let analyzer = Analyzer::builder()
        .device(mien_core::device::cpu())
        .detector(Box::new(HaarFaceDetector::frontal_face(params)))
        .build()
        .unwrap();
    let photo = mien::open_image(fixture("astronaut.jpg")).unwrap();
    let analysis = analyzer.analyze(&photo).unwrap();
    assert_eq!(analysis.faces.len(), 1, "{analysis:?}");
    let face = &analysis.faces[0];
    assert_eq!(face.emotion, Emotion::Happy);
    let [left, right] = face.eyes.expect("the eye cascade finds both eyes");
    assert!(left[0] < right[0]);
    assert!(face.eyes_open.unwrap() > 0.5, "{face:?}");
}

/// A detector that finds one face at a fixed place, with or without key points.
struct FixedDetector(Option<mien::FaceKeyPoints>);

impl mien::FaceDetector for FixedDetector {
    fn name(&self) -> &str {
        "fixed"
    }

    fn detect(&self, _: &image::DynamicImage) -> Result<Vec<mien::FaceBox>, mien::core::Error> {
        Ok(vec![mien::FaceBox::new(173.0, 74.0, 105.0, 105.0, 0.9)])
    }

    fn detections(
        &self,
        image: &image::DynamicImage,
    ) -> Result<Vec<mien::Detection>, mien::core::Error> {
        Ok(self
            .detect(image)?
            .into_iter()
            .map(|face| mien::Detection {
                face,
                key_points: self.0,
            })
            .collect())
    }
}

#[test]
fn any_detector_s_key_points_give_the_eyes() {
    let photo = mien::open_image(fixture("astronaut.jpg")).unwrap();
    let points = mien::FaceKeyPoints {
        left_eye: [200.0, 100.0],
        right_eye: [250.0, 104.0],
        nose: [225.0, 125.0],
        mouth: [225.0, 145.0],
    };
    let with_points = Analyzer::builder()
        .detector(Box::new(FixedDetector(Some(points))))
        .eye_state(false)
        .build()
        .unwrap();
    let analysis = with_points.analyze(&photo).unwrap();
    assert_eq!(analysis.faces.len(), 1);
    assert_eq!(
        analysis.faces[0].eyes,
        Some([[200.0, 100.0], [250.0, 104.0]])
    );
    assert_eq!(analysis.faces[0].key_points, Some(points));
    let json = serde_json::to_value(&analysis).unwrap();
    assert_eq!(json["faces"][0]["key_points"]["mouth"][1], 145.0);
    // Without key points the eye cascade looks for them inside the box instead.
    let without = Analyzer::builder()
        .detector(Box::new(FixedDetector(None)))
        .eye_state(false)
        .build()
        .unwrap();
    let face = &without.analyze(&photo).unwrap().faces[0];
    assert_ne!(face.eyes, Some([[200.0, 100.0], [250.0, 104.0]]));
    assert_eq!(face.key_points, None);
    let json = serde_json::to_value(face).unwrap();
    assert!(json.get("key_points").is_none(), "{json}");
}

#[test]
fn landmarks_are_opt_in_and_sit_on_the_face() {
    let photo = mien::open_image(fixture("astronaut.jpg")).unwrap();
    let plain = analyzer().analyze(&photo).unwrap();
    assert!(plain.faces[0].landmarks.is_none());
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json["faces"][0].get("landmarks").is_none(), "{json}");

    let with_mesh = Analyzer::builder()
        .device(mien_core::device::cpu())
        .landmarks(true)
        .build()
        .unwrap();
    let analysis = with_mesh.analyze(&photo).unwrap();
    let face = &analysis.faces[0];
    let Some(mien::Landmarks::Found { points, score }) = &face.landmarks else {
        panic!("no mesh: {:?}", face.landmarks);
    };
    assert_eq!(points.len(), 468);
    assert!(*score > 0.9);
    // Every point inside the face box widened by a quarter (the mesh covers the forehead).
    let b = face.face;
    let (mx, my) = (b.width / 4.0, b.height / 4.0);
    assert!(points.iter().all(|&[x, y, _]| {
        x > b.x - mx && x < b.x + b.width + mx && y > b.y - my && y < b.y + b.height + my
    }));
    // The same mesh as asking for it after the analysis, and a JSON round trip.
    assert_eq!(
        with_mesh.landmarks(&photo, &plain).unwrap()[0],
        *face.landmarks.as_ref().unwrap()
    );
    let json = serde_json::to_string(&analysis).unwrap();
    assert!(
        json.contains("\"landmarks\":{\"found\":{\"points\":[["),
        "{json:.300}"
    );
    let back: mien::Analysis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, analysis);
}

#[test]
fn a_face_cut_by_the_border_says_why_it_has_no_landmarks() {
    let photo = mien::open_image(fixture("astronaut.jpg")).unwrap();
    let analyzer = Analyzer::builder()
        .device(mien_core::device::cpu())
        .landmarks(true)
        .build()
        .unwrap();
    let analysis = analyzer.analyze(&photo).unwrap();
    // The same face box on a crop that ends halfway across it.
    let b = analysis.faces[0].face;
    let cut = photo.crop_imm(0, 0, (b.x + b.width / 2.0) as u32, 512);
    let marks = analyzer.landmarks(&cut, &analysis).unwrap();
    let mien::Landmarks::Missing { reason } = &marks[0] else {
        panic!("a mesh on half a face: {marks:?}");
    };
    assert!(
        reason.contains("50 % of the face is inside the photo"),
        "{reason}"
    );
}
