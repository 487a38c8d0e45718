//! The bundled classifiers on one face at a time, burn-flex against mien's native CPU pass
//! (`mien_models::native`, `mien_core::native`): the FER2013 default and FER+ smile
//! mini-Xceptions, and the eyes-open CNN on a face's two eye patches.
//! `docs/BENCHMARKS.md` records the figures.
//!
//! ```text
//! cargo bench -p mien-benches --bench classifiers
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use image::GrayImage;
use mien_detect::eye_state::{EyeStateClassifier, PATCH};
use mien_models::native::NativeModel;
use mien_models::pretrained::Pretrained;

fn classifiers(c: &mut Criterion) {
    let device = mien_core::device::cpu();
    let mut group = c.benchmark_group("classifiers_b1");
    let face: Vec<f32> = (0..48 * 48).map(|i| (i % 251) as f32 / 250.0).collect();
    for pretrained in [Pretrained::Default, Pretrained::FerPlusSmile] {
        let saved = pretrained.load(&device).unwrap_or_else(|e| panic!("{e}"));
        let model = saved.model.valid();
        let native = NativeModel::from_model(&model).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function(BenchmarkId::new("burn", pretrained), |b| {
            b.iter(|| {
                let input =
                    Tensor::<4>::from_data(TensorData::new(face.clone(), [1, 1, 48, 48]), &device);
                model.predict(input).probabilities.map(|p| p.into_data())
            })
        });
        group.bench_function(BenchmarkId::new("native", pretrained), |b| {
            b.iter(|| native.predict(&face))
        });
    }
    let eyes = EyeStateClassifier::bundled(&device).unwrap_or_else(|e| panic!("{e}"));
    let patches: Vec<GrayImage> = (0..2)
        .map(|k| {
            GrayImage::from_fn(PATCH, PATCH, |x, y| {
                image::Luma([(x * 9 + y * 3 + k) as u8])
            })
        })
        .collect();
    group.bench_function("native/eye_state_2_patches", |b| {
        b.iter(|| eyes.open_probability(&patches))
    });
    group.finish();
}

criterion_group!(benches, classifiers);
criterion_main!(benches);
