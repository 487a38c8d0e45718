//! The smile warp: where it acts and where it does not, bad strengths, photos without faces,
//! and the fixture photo's smile rising.

use image::{GrayImage, Luma, Rgb, RgbImage};
use mien_core::FaceBox;
use mien_score::SmileLevel;

use super::*;
use crate::Emotion;

/// A face analysis with `eyes` at the given points and a box around them.
fn face_with_eyes(eyes: Option<[[f32; 2]; 2]>) -> FaceAnalysis {
    let probabilities = vec![1.0 / 8.0; 8];
    FaceAnalysis {
        face: FaceBox::new(100.0, 100.0, 100.0, 100.0, 1.0),
        eyes,
        key_points: None,
        eyes_open: None,
        emotions: mien_core::EmotionProbabilities::new(mien_core::LabelSet::FerPlus, probabilities)
            .unwrap(),
        emotion: Emotion::Neutral,
        emotion_probability: 0.125,
        emoji: String::new(),
        smile: mien_score::SmileScore::from_intensity(0.5),
        smile_level: SmileLevel::Mild,
        landmarks: None,
    }
}

fn length(v: [f32; 2]) -> f32 {
    v[0].hypot(v[1])
}

#[test]
fn the_mouth_corners_move_up_and_out_and_the_eyes_stay() {
    let face = face_with_eyes(Some([[130.0, 138.0], [170.0, 138.0]]));
    let frame = FaceFrame::of(&face, None);
    let smile = Smile::of(&frame, 1.0);
    assert_eq!(frame.scale, 40.0);
    assert!((frame.mouth[1] - (138.0 + 38.0)).abs() < 1e-4, "{frame:?}");
    // Image y grows downwards: up is negative y.
    let left_corner = smile.displacement([150.0 - 16.8, 176.0]);
    let right_corner = smile.displacement([150.0 + 16.8, 176.0]);
    assert!(
        left_corner[1] < -3.0 && right_corner[1] < -3.0,
        "{left_corner:?}"
    );
    assert!(left_corner[0] < 0.0 && right_corner[0] > 0.0, "outwards");
    for eye in [[130.0, 138.0], [170.0, 138.0]] {
        assert!(length(smile.displacement(eye)) < 0.05, "{eye:?}");
    }
    // Nothing moves at the border of the region the edit resamples.
    let [x0, y0, w, h] = smile.region(1000, 1000).unwrap();
    for p in [
        [x0, y0],
        [x0 + w - 1, y0],
        [x0, y0 + h - 1],
        [x0 + w - 1, y0 + h - 1],
    ] {
        let d = smile.displacement([p[0] as f32, p[1] as f32]);
        assert!(length(d) < 0.02, "{p:?}: {d:?}");
    }
    // A negative strength mirrors the edit.
    let sadder = Smile::of(&frame, -1.0).displacement([150.0 - 16.8, 176.0]);
    assert!((sadder[1] + left_corner[1]).abs() < 1e-5);
}

#[test]
fn a_tilted_face_is_edited_along_its_own_axes() {
    // Eyes on a 45° line (the head tilted): the mouth lies below-left of their midpoint.
    let face = face_with_eyes(Some([[100.0, 100.0], [130.0, 130.0]]));
    let frame = FaceFrame::of(&face, None);
    let s = std::f32::consts::FRAC_1_SQRT_2;
    assert!(
        (frame.up[0] - s).abs() < 1e-5 && (frame.up[1] + s).abs() < 1e-5,
        "{frame:?}"
    );
    assert!(
        frame.mouth[0] < 115.0 && frame.mouth[1] > 115.0,
        "{frame:?}"
    );
}

#[test]
fn only_the_region_around_the_mouth_changes() {
    let face = face_with_eyes(None);
    let smile = Smile::of(&FaceFrame::of(&face, Some([150.0, 170.0])), 2.0);
    let photo = RgbImage::from_fn(320, 320, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut image = DynamicImage::ImageRgb8(photo.clone());
    warp_mouth(&mut image, &smile);
    let edited = image.as_rgb8().expect("the pixel type is kept");
    let [x0, y0, w, h] = smile.region(320, 320).unwrap();
    let mut changed = 0;
    for (x, y, pixel) in edited.enumerate_pixels() {
        let inside = (x0..x0 + w).contains(&x) && (y0..y0 + h).contains(&y);
        if !inside {
            assert_eq!(
                pixel,
                photo.get_pixel(x, y),
                "({x}, {y}) is outside the edit"
            );
        } else if pixel != photo.get_pixel(x, y) {
            changed += 1;
        }
    }
    assert!(changed > 100, "{changed} pixels changed");
    // 16-bit photos keep their depth.
    let mut deep = DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(320, 320, |x, _| {
        Luma([(x * 200) as u16])
    }));
    warp_mouth(&mut deep, &smile);
    assert!(matches!(deep, DynamicImage::ImageLuma16(_)));
}

#[test]
fn bad_strengths_and_photos_without_faces() {
    let analyzer = Analyzer::builder()
        .device(mien_core::device::cpu())
        .eye_state(false)
        .build()
        .unwrap();
    let blank = DynamicImage::ImageLuma8(GrayImage::from_pixel(200, 150, Luma([128])));
    for strength in [f32::NAN, 2.5, -3.0, f32::INFINITY] {
        let error = analyzer.make_happier(&blank, strength).unwrap_err();
        assert!(matches!(error, AnalyzeError::InvalidStrength(_)), "{error}");
    }
    let edit = analyzer.make_happier(&blank, 1.0).unwrap();
    assert!(edit.before.faces.is_empty());
    assert_eq!(edit.image.as_bytes(), blank.as_bytes());
    assert!(edit.smiles().is_empty());
}

#[test]
fn the_fixture_photo_smiles_more_and_less() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/astronaut.jpg");
    let photo = crate::open_image(path).unwrap();
    let analyzer = Analyzer::builder()
        .device(mien_core::device::cpu())
        .eye_state(false)
        .build()
        .unwrap();
    let happier = analyzer.make_happier(&photo, 2.0).unwrap();
    let sadder = analyzer.make_happier(&photo, -2.0).unwrap();
    assert_eq!(happier.image.dimensions(), photo.dimensions());
    let [(before, up)] = happier.smiles()[..] else {
        panic!("one face: {:?}", happier.smiles())
    };
    let [(_, down)] = sadder.smiles()[..] else {
        panic!("one face: {:?}", sadder.smiles())
    };
    // The astronaut already smiles broadly (about 9.96): more keeps it there, less lowers it.
    assert!(
        before > 9.0 && up >= before - 0.05,
        "happier: {before} → {up}"
    );
    assert!(down < before - 0.3, "sadder: {before} → {down}");
}
