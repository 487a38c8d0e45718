//! Face detection speed on a 640×480 photo: the Haar engine with OpenCV's frontal-face
//! cascade at two parameter settings, the same photo and settings that
//! `tools/haar_reference.py` times OpenCV with; and BlazeFace on the default device (whole
//! detection, and its letterboxing and network alone). `docs/DETECTION.md` records the
//! figures. Also the 468-point face mesh on the sample photo's face: the network alone on
//! its 192×192 input, and the whole `FaceMesh::landmarks` (crop, network, points back in the
//! photo).
//!
//! ```text
//! cargo bench -p mien-benches --bench detect
//! RAYON_NUM_THREADS=1 cargo bench -p mien-benches --bench detect -- face_mesh
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use burn::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use image::imageops::FilterType;
use mien_detect::BlazeFaceDetector;
use mien_detect::Engine;
use mien_detect::blazeface::{
    BlazeFaceNet, CpuBlazeFace, STEM_PATCH, STEM_SIZE, letterbox_input, letterbox_nhwc,
    stem_patches,
};
use mien_detect::face_mesh::FaceMesh;
use mien_detect::haar::{DetectParams, HaarCascade, opencv_gray};

/// `faces_wild`'s two-people photo at 640×480; `None` without the data (the bench is skipped).
fn photo_640x480() -> Option<image::DynamicImage> {
    let photos = mien_core::data_dir::test_data("faces_wild").unwrap_or_else(|e| panic!("{e}"))?;
    let path = photos.join("face_recognition_examples/two_people.jpg");
    let photo = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(photo.resize_exact(640, 480, FilterType::Triangle))
}

fn haar(c: &mut Criterion) {
    let Some(photo) = photo_640x480() else {
        return;
    };
    let gray = opencv_gray(&photo);
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

fn blazeface(c: &mut Criterion) {
    let Some(photo) = photo_640x480() else {
        return;
    };
    let device = mien_core::select_device().unwrap_or_else(|e| panic!("{e}"));
    let detector = BlazeFaceDetector::bundled(&device).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("detect_640x480");
    group.sample_size(50);
    group.bench_function("blazeface", |b| {
        b.iter(|| detector.detect_faces(&photo).expect("detection runs"))
    });
    group.bench_function("blazeface letterbox only", |b| {
        b.iter(|| letterbox_nhwc(&photo))
    });
    let native = CpuBlazeFace::from_net(&BlazeFaceNet::new(&device)).expect("weights");
    let (_, input) = letterbox_nhwc(&photo);
    group.bench_function("blazeface native network only", |b| {
        b.iter(|| native.forward(&input))
    });
    let burn = BlazeFaceDetector::bundled(&device)
        .and_then(|d| d.with_engine(Engine::Burn))
        .unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("blazeface burn engine", |b| {
        b.iter(|| burn.detect_faces(&photo).expect("detection runs"))
    });
    group.bench_function("blazeface burn letterbox only", |b| {
        b.iter(|| letterbox_input(&photo))
    });
    let (_, input) = letterbox_input(&photo);
    group.bench_function("blazeface stem patches only", |b| {
        b.iter(|| stem_patches(&input))
    });
    let patches = stem_patches(&input);
    let net = BlazeFaceNet::new(&device);
    group.bench_function("blazeface burn network only", |b| {
        b.iter(|| {
            let x = Tensor::<4>::from_data(
                TensorData::new(patches.clone(), [1, STEM_PATCH, STEM_SIZE, STEM_SIZE]),
                &device,
            );
            let (scores, _) = net.forward_patches(x);
            mien_core::read_f32(scores).expect("outputs")
        })
    });
    group.finish();
}

fn face_mesh(c: &mut Criterion) {
    let device = mien_core::device::cpu();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/astronaut.jpg");
    let photo = image::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let detector = BlazeFaceDetector::bundled(&device).unwrap_or_else(|e| panic!("{e}"));
    let found = detector
        .detect_faces(&photo)
        .expect("detection runs")
        .remove(0);
    let eyes = found.eyes();
    let mesh = FaceMesh::bundled(&device).unwrap_or_else(|e| panic!("{e}"));
    let rgb = photo.to_rgb8();
    let input = image::imageops::resize(&rgb, 192, 192, FilterType::Triangle);
    let mut group = c.benchmark_group("face_mesh");
    group.sample_size(50);
    group.bench_function("native network only", |b| b.iter(|| mesh.run(&input)));
    group.bench_function("landmarks of a face", |b| {
        b.iter(|| mesh.landmarks(&rgb, &found.face, Some(&eyes)))
    });
    group.finish();
}

criterion_group!(benches, haar, blazeface, face_mesh);
criterion_main!(benches);
