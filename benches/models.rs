//! Every architecture on the selected backend: inference latency at batch 1, inference
//! throughput at batch 64, and training-step throughput (forward + backward + AdamW) at
//! batch 64. `docs/BENCHMARKS.md` records the figures.
//!
//! ```text
//! cargo bench -p mien-benches --bench models                 # all architectures
//! cargo bench -p mien-benches --bench models -- mini_xception  # one
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mien_benches::train_step;
use mien_core::select_device;
use mien_models::ClassifierConfig;
use mien_models::registry::Architecture;

const BATCH: usize = 64;

fn models(c: &mut Criterion) {
    let device = select_device().unwrap_or_else(|e| panic!("{e}"));
    let train_device = device.clone().autodiff();
    let mut group = c.benchmark_group("models");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for architecture in Architecture::ALL {
        let model =
            ClassifierConfig::new(7).init(architecture.default_config().init(&device), &device);
        eprintln!(
            "{architecture}: {} parameters (num_params)",
            model.num_params()
        );

        let one = Tensor::<4>::random([1, 1, 48, 48], Distribution::Default, &device);
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("infer_b1", architecture), |b| {
            b.iter(|| model.forward(one.clone()).into_data())
        });

        let batch = Tensor::<4>::random([BATCH, 1, 48, 48], Distribution::Default, &device);
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(BenchmarkId::new("infer_b64", architecture), |b| {
            b.iter(|| model.forward(batch.clone()).into_data())
        });

        let trainable = ClassifierConfig::new(7).init(
            architecture.default_config().init(&train_device),
            &train_device,
        );
        let mut step = train_step(trainable, BATCH, &train_device);
        group.bench_function(BenchmarkId::new("train_step_b64", architecture), |b| {
            b.iter(&mut step)
        });
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
