//! Scores face detectors on `$MIEN_DATA/faces_wild/dlib_pascal_voc/boxes.csv` (43 annotated
//! faces on 9 photos): recall and precision at IoU ≥ 0.4, false positives per photo (the 9
//! photos plus `dlib_misc/dogs.jpg`, which shows no human face), false positives on the dogs
//! alone, and time per photo. Prints a Markdown table for `docs/DETECTION.md`.
//!
//! `cargo run --release -p mien-detect --example evaluate_detectors`

use mien_core::FaceDetector;
use mien_detect::evaluation::{Benchmark, evaluate};
use mien_detect::haar::{DetectParams, HaarFaceDetector};
use mien_detect::{BlazeFaceDetector, BlazeFaceParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let benchmark = Benchmark::faces_wild(&mien_core::data_dir()?.join("faces_wild"))?;
    let haar = |scale_factor, min_neighbors, min_side| {
        HaarFaceDetector::frontal_face(DetectParams {
            scale_factor,
            min_neighbors,
            min_size: (min_side, min_side),
            max_size: None,
        })
    };
    let device = mien_core::select_device()?;
    let blazeface = |min_score| -> Result<BlazeFaceDetector, mien_detect::DetectError> {
        Ok(
            BlazeFaceDetector::bundled(&device)?.with_params(BlazeFaceParams {
                min_score,
                ..BlazeFaceParams::default()
            }),
        )
    };
    let detectors: Vec<(&str, Box<dyn FaceDetector>)> = vec![
        ("Haar, scale 1.1, 3 neighbours", Box::new(haar(1.1, 3, 0))),
        ("Haar, scale 1.1, 5 neighbours", Box::new(haar(1.1, 5, 0))),
        (
            "Haar, scale 1.2, 5 neighbours, min 30 px",
            Box::new(haar(1.2, 5, 30)),
        ),
        ("BlazeFace, score ≥ 0.5", Box::new(blazeface(0.5)?)),
        (
            "BlazeFace, score ≥ 0.6 (default)",
            Box::new(blazeface(0.6)?),
        ),
        ("BlazeFace, score ≥ 0.75", Box::new(blazeface(0.75)?)),
    ];
    println!(
        "| detector | recall | precision | false positives / photo | on dogs.jpg | ms / photo |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, detector) in detectors {
        // One call first, so one-time set-up (kernel caches, allocations) is not timed.
        detector.detect(&benchmark.negatives[0])?;
        let s = evaluate(detector.as_ref(), &benchmark)?;
        println!(
            "| {name} | {}/{} = {:.1} % | {:.1} % | {:.2} | {} | {:.1} |",
            s.found,
            s.faces,
            100.0 * s.recall(),
            100.0 * s.precision(),
            s.false_positives_per_photo(),
            s.negative_detections,
            1000.0 * s.seconds / s.photos as f64,
        );
    }
    Ok(())
}
