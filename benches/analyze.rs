//! The whole `mien::Analyzer` on a 640×480 photo with two faces
//! (`faces_wild/face_recognition_examples/two_people.jpg` resized): detection, alignment,
//! the bundled FER+ emotion + smile model (each face read with its mirror image, and once),
//! eyes-open classifier, ratings.
//! `docs/BENCHMARKS.md` records the figures.
//!
//! ```text
//! cargo bench -p mien-benches --bench analyze
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use image::imageops::FilterType;

fn analyze(c: &mut Criterion) {
    let Some(photos) =
        mien_core::data_dir::test_data("faces_wild").unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let path = photos.join("face_recognition_examples/two_people.jpg");
    let photo = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .resize_exact(640, 480, FilterType::Triangle);
    let analyzer = mien::Analyzer::new().unwrap_or_else(|e| panic!("{e}"));
    let faces = analyzer.analyze(&photo).map(|a| a.faces.len()).unwrap_or(0);
    let mut group = c.benchmark_group(format!("analyze_640x480_{faces}_faces"));
    group.sample_size(30);
    group.bench_function("default analyzer", |b| {
        b.iter(|| analyzer.analyze(&photo).expect("analysis runs"))
    });
    let no_eyes = mien::Analyzer::builder()
        .eye_state(false)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("without eye state", |b| {
        b.iter(|| no_eyes.analyze(&photo).expect("analysis runs"))
    });
    let single_pass = mien::Analyzer::builder()
        .mirror_average(false)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("single pass", |b| {
        b.iter(|| single_pass.analyze(&photo).expect("analysis runs"))
    });
    group.finish();
}

criterion_group!(benches, analyze);
criterion_main!(benches);
