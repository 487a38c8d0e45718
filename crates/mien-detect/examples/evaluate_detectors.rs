//! Scores face detectors on `$MIEN_DATA/faces_wild/dlib_pascal_voc/boxes.csv` (43 annotated
//! faces on 9 photos): recall and precision at IoU ≥ 0.4, false positives per photo, false
//! positives on `dlib_misc/dogs.jpg` (no human faces), and time per photo. Prints a Markdown
//! table for `docs/DETECTION.md`.
//!
//! `cargo run --release -p mien-detect --example evaluate_detectors`

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use image::DynamicImage;
use mien_core::{FaceBox, FaceDetector};
use mien_detect::haar::{DetectParams, HaarFaceDetector};

/// IoU at which a detection counts as finding an annotated face (dlib's boxes are tight,
/// brow to chin; most detectors' boxes are larger).
const MATCH_IOU: f32 = 0.4;

struct Score {
    faces: usize,
    found: usize,
    detections: usize,
    false_positives: usize,
    dog_false_positives: usize,
    seconds: f64,
    photos: usize,
}

/// Greedy one-to-one matching by IoU: how many annotated faces a detection covers.
fn matched(truth: &[FaceBox], detections: &[FaceBox]) -> usize {
    let mut used = vec![false; detections.len()];
    truth
        .iter()
        .filter(|t| {
            let best = detections
                .iter()
                .enumerate()
                .filter(|(i, _)| !used[*i])
                .map(|(i, d)| (i, t.iou(d)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((i, iou)) if iou >= MATCH_IOU => {
                    used[i] = true;
                    true
                }
                _ => false,
            }
        })
        .count()
}

fn evaluate(
    detector: &dyn FaceDetector,
    photos: &BTreeMap<String, (DynamicImage, Vec<FaceBox>)>,
    dogs: &DynamicImage,
) -> Result<Score, Box<dyn std::error::Error>> {
    let mut score = Score {
        faces: 0,
        found: 0,
        detections: 0,
        false_positives: 0,
        dog_false_positives: 0,
        seconds: 0.0,
        photos: photos.len(),
    };
    for (image, truth) in photos.values() {
        let started = Instant::now();
        let detections = detector.detect(image)?;
        score.seconds += started.elapsed().as_secs_f64();
        let hits = matched(truth, &detections);
        score.faces += truth.len();
        score.found += hits;
        score.detections += detections.len();
        score.false_positives += detections.len() - hits;
    }
    score.dog_false_positives = detector.detect(dogs)?.len();
    Ok(score)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = mien_core::data_dir()?.join("faces_wild");
    let folder = root.join("dlib_pascal_voc");
    let mut photos: BTreeMap<String, (DynamicImage, Vec<FaceBox>)> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(folder.join("boxes.csv"))?;
    for (line, row) in reader.records().enumerate() {
        let row = row?;
        let field = |i: usize| -> Result<f32, Box<dyn std::error::Error>> {
            row.get(i).and_then(|v| v.parse().ok()).ok_or_else(|| {
                format!("boxes.csv line {}: field {i} is not a number", line + 2).into()
            })
        };
        let file = row.get(0).ok_or("boxes.csv: missing file name")?.to_owned();
        let face = FaceBox::new(field(4)?, field(5)?, field(6)?, field(7)?, 1.0);
        if !photos.contains_key(&file) {
            let image = mien_core::open_image(folder.join(&file))?;
            photos.insert(file.clone(), (image, Vec::new()));
        }
        photos.get_mut(&file).expect("inserted above").1.push(face);
    }
    let dogs = mien_core::open_image(Path::new(&root).join("dlib_misc/dogs.jpg"))?;

    let settings = [
        ("Haar, scale 1.1, 3 neighbours", DetectParams::default()),
        (
            "Haar, scale 1.1, 5 neighbours",
            DetectParams {
                min_neighbors: 5,
                ..DetectParams::default()
            },
        ),
        (
            "Haar, scale 1.2, 5 neighbours, min 30 px",
            DetectParams {
                scale_factor: 1.2,
                min_neighbors: 5,
                min_size: (30, 30),
                max_size: None,
            },
        ),
    ];
    println!(
        "| detector | recall | precision | false positives / photo | on dogs.jpg | ms / photo |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, params) in settings {
        let detector = HaarFaceDetector::frontal_face(params);
        let s = evaluate(&detector, &photos, &dogs)?;
        println!(
            "| {name} | {}/{} = {:.1} % | {:.1} % | {:.2} | {} | {:.1} |",
            s.found,
            s.faces,
            100.0 * s.found as f64 / s.faces as f64,
            100.0 * s.found as f64 / s.detections.max(1) as f64,
            s.false_positives as f64 / s.photos as f64,
            s.dog_false_positives,
            1000.0 * s.seconds / s.photos as f64,
        );
    }
    Ok(())
}
