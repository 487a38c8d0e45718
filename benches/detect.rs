//! Face detection speed on a 640×480 photo: the Haar engine with OpenCV's frontal-face
//! cascade at two parameter settings, the same photo and settings that
//! `tools/haar_reference.py` times OpenCV with. `docs/DETECTION.md` records the figures.
//!
//! ```text
//! cargo bench -p mien-benches --bench detect
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use image::imageops::FilterType;
use mien_detect::haar::{DetectParams, HaarCascade, opencv_gray};

fn photo_640x480() -> image::GrayImage {
    let path = mien_core::data_dir()
        .unwrap_or_else(|e| panic!("{e}"))
        .join("faces_wild/face_recognition_examples/two_people.jpg");
    let photo = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    opencv_gray(&photo.resize_exact(640, 480, FilterType::Triangle))
}

fn haar(c: &mut Criterion) {
    let gray = photo_640x480();
    let cascade = HaarCascade::frontal_face();
    let mut group = c.benchmark_group("detect_640x480");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(15));
    let settings = [
        ("haar sf1.1 mn3", DetectParams::default()),
        (
            "haar sf1.2 mn5 min30",
            DetectParams {
                scale_factor: 1.2,
                min_neighbors: 5,
                min_size: (30, 30),
                max_size: None,
            },
        ),
    ];
    for (name, params) in settings {
        group.bench_function(name, |b| {
            b.iter(|| cascade.detect(&gray, &params).expect("valid parameters"))
        });
    }
    group.finish();
}

criterion_group!(benches, haar);
criterion_main!(benches);
