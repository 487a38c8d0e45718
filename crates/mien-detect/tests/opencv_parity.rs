//! The Haar engine against OpenCV 4.14's `detectMultiScale` on the real photos of
//! `$MIEN_DATA/faces_wild` (skipped without it), using the reference boxes of
//! `fixtures/haar_opencv_faces_wild.json` (made by `tools/haar_reference.py`).
//!
//! - On the same gray pixels (`mien_decode`: OpenCV run on the gray images mien decodes),
//!   every setting — grouped and raw, frontal face, eye and smile (tilted features) — gives
//!   exactly OpenCV's boxes.
//! - From the JPEG files themselves (`opencv_decode`: OpenCV decodes with libjpeg-turbo,
//!   mien with the image crate; about 1 % of pixels differ by a level or two), at least
//!   95 % of the boxes agree within 2 px; borderline windows account for the rest.

use std::path::PathBuf;

use mien_detect::haar::{DetectParams, HaarCascade, Rect, opencv_gray};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/haar_opencv_faces_wild.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The photos' folder, `None` without the data (skipped).
fn photos() -> Option<PathBuf> {
    mien_core::data_dir::test_data("faces_wild").unwrap()
}

/// One (setting, image): a label, mien's boxes and OpenCV's, each sorted `[x, y, w, h]`.
type Comparison = (String, Vec<[i32; 4]>, Vec<[i32; 4]>);

/// Every (setting, image) of one decoder; `None` without the data.
fn compare(decoder: &str) -> Option<Vec<Comparison>> {
    let photos = photos()?;
    let fixture = fixture();
    let mut out = Vec::new();
    for setting in fixture["settings"].as_array().unwrap() {
        if setting["decoder"] != decoder {
            continue;
        }
        let cascade = match setting["cascade"].as_str().unwrap() {
            "frontalface_default" => HaarCascade::frontal_face(),
            "eye" => HaarCascade::eye(),
            "smile" => HaarCascade::smile(),
            other => panic!("unknown cascade {other}"),
        };
        let size = setting["min_size"].as_u64().unwrap() as u32;
        let params = DetectParams {
            scale_factor: setting["scale_factor"].as_f64().unwrap(),
            min_neighbors: setting["min_neighbors"].as_u64().unwrap() as usize,
            min_size: (size, size),
            max_size: None,
        };
        for image in setting["images"].as_array().unwrap() {
            let file = image["file"].as_str().unwrap();
            let gray = opencv_gray(&image::open(photos.join(file)).unwrap());
            let as_array = |r: &Rect| [r.x, r.y, r.width, r.height];
            let mut ours: Vec<[i32; 4]> = cascade
                .detect(&gray, &params)
                .unwrap()
                .iter()
                .map(as_array)
                .collect();
            let mut reference: Vec<[i32; 4]> = image["boxes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    let v: Vec<i32> = b
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_i64().unwrap() as i32)
                        .collect();
                    [v[0], v[1], v[2], v[3]]
                })
                .collect();
            ours.sort_unstable();
            reference.sort_unstable();
            let label = format!(
                "{} sf {} mn {} {file}",
                setting["cascade"], params.scale_factor, params.min_neighbors
            );
            out.push((label, ours, reference));
        }
    }
    Some(out)
}

#[test]
fn on_the_same_pixels_every_box_equals_opencvs() {
    let Some(results) = compare("mien_decode") else {
        return;
    };
    assert!(results.len() > 40, "{} comparisons", results.len());
    let total: usize = results.iter().map(|(_, _, r)| r.len()).sum();
    let differing: Vec<String> = results
        .iter()
        .filter(|(_, ours, reference)| ours != reference)
        .map(|(label, ours, reference)| format!("{label}: mien {ours:?}\n  OpenCV {reference:?}"))
        .collect();
    assert!(
        differing.is_empty(),
        "{} of {} comparisons differ ({total} OpenCV boxes):\n{}",
        differing.len(),
        results.len(),
        differing.join("\n")
    );
}

#[test]
fn from_the_jpeg_files_95_percent_of_boxes_agree_within_2_px() {
    let Some(results) = compare("opencv_decode") else {
        return;
    };
    let (mut boxes, mut matched) = (0usize, 0usize);
    for (_, ours, reference) in &results {
        let mut unmatched: Vec<&[i32; 4]> = ours.iter().collect();
        for r in reference {
            boxes += 1;
            let near = |o: &&[i32; 4]| o.iter().zip(r).all(|(a, b)| (a - b).abs() <= 2);
            if let Some(i) = unmatched.iter().position(near) {
                unmatched.remove(i);
                matched += 1;
            }
        }
        boxes += unmatched.len();
    }
    let rate = matched as f64 / boxes as f64;
    assert!(
        rate >= 0.95,
        "{matched} of {boxes} boxes agree ({:.1} %)",
        100.0 * rate
    );
}
