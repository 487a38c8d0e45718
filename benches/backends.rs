//! Inference and training throughput of the baseline FER CNN (batch 64, 48×48 grayscale)
//! on the backend that `MIEN_DEVICE` selects. `docs/BACKENDS.md` records the figures.
//!
//! ```text
//! cargo bench -p mien-benches --bench backends                                   # flex (CPU)
//! MIEN_DEVICE=ndarray cargo bench -p mien-benches --bench backends --features ndarray
//! MIEN_DEVICE=wgpu:cpu cargo bench -p mien-benches --bench backends --features wgpu
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mien_benches::{random_fer_batch, train_step};
use mien_core::select_device;
use mien_models::ClassifierConfig;
use mien_models::backbones::BaselineCnnConfig;

const BATCH: usize = 64;

fn backends(c: &mut Criterion) {
    let device = select_device().unwrap_or_else(|e| panic!("{e}"));
    let backend = std::env::var(mien_core::device::DEVICE_ENV).unwrap_or_else(|_| "cpu".into());
    let mut group = c.benchmark_group(format!("baseline_cnn_b{BATCH}/{backend}"));
    group.throughput(Throughput::Elements(BATCH as u64));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    let model = ClassifierConfig::new(7).init(BaselineCnnConfig::new().init(&device), &device);
    let (images, _) = random_fer_batch(BATCH, &device);
    group.bench_function("infer", |b| {
        b.iter(|| model.forward(images.clone()).into_data())
    });

    let train_device = device.autodiff();
    let model =
        ClassifierConfig::new(7).init(BaselineCnnConfig::new().init(&train_device), &train_device);
    let mut step = train_step(model, BATCH, &train_device);
    group.bench_function("train_step", |b| b.iter(&mut step));
    group.finish();
}

criterion_group!(benches, backends);
criterion_main!(benches);
