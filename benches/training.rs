//! Training with mien's kernels against burn's own operations, side by side in one run on the
//! same machine: batch-64 inference and training-step throughput (forward, cross-entropy,
//! backward, AdamW) of the networks whose training time matters most. The kernels are switched
//! with `mien_core::kernels::Kernels::scope`, exactly as `MIEN_KERNELS=burn` switches them for a
//! whole process. `docs/BENCHMARKS.md` records the figures.
//!
//! ```text
//! cargo bench -p mien-benches --bench training                  # every network
//! cargo bench -p mien-benches --bench training -- baseline_cnn  # one
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mien_benches::train_step;
use mien_core::Backbone;
use mien_core::kernels::Kernels;
use mien_core::select_device;
use mien_models::ClassifierConfig;
use mien_models::backbones::{
    BaselineCnnConfig, EfficientNetB0Config, HybridTransformerConfig, MiniXceptionConfig,
    ResNet18Config, ResNet50Config, VitTinyConfig,
};

const BATCH: usize = 64;

// What the `train` binary uses too (see there).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench_network<B: Backbone + 'static>(
    c: &mut Criterion,
    name: &str,
    init: impl Fn(&Device) -> B,
) {
    let device = select_device().unwrap_or_else(|e| panic!("{e}"));
    let train_device = device.clone().autodiff();
    let mut group = c.benchmark_group(format!("training_b{BATCH}/{name}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(BATCH as u64));
    let model = ClassifierConfig::new(7).init(init(&device), &device);
    let images = Tensor::<4>::random([BATCH, 1, 48, 48], Distribution::Default, &device);
    for kernels in [Kernels::Mien, Kernels::Burn] {
        let label = format!("{kernels:?}").to_lowercase();
        group.bench_function(BenchmarkId::new("infer", &label), |b| {
            b.iter(|| kernels.scope(|| model.forward(images.clone()).into_data()))
        });
        let trainable = ClassifierConfig::new(7).init(init(&train_device), &train_device);
        let mut step = train_step(trainable, BATCH, &train_device);
        group.bench_function(BenchmarkId::new("train_step", &label), |b| {
            b.iter(|| kernels.scope(&mut step))
        });
    }
    group.finish();
}

fn training(c: &mut Criterion) {
    bench_network(c, "baseline_cnn", |d| BaselineCnnConfig::new().init(d));
    // The bundled default model's network.
    bench_network(c, "mini_xception_wide", |d| {
        MiniXceptionConfig::new()
            .with_stem_channels(16)
            .with_module_channels(vec![32, 64, 128, 256])
            .init(d)
    });
    bench_network(c, "resnet18", |d| ResNet18Config::new().init(d));
    bench_network(c, "resnet50", |d| ResNet50Config::new().init(d));
    // Depthwise convolutions, squeeze-excitation and SiLU.
    bench_network(c, "efficientnet_b0", |d| {
        EfficientNetB0Config::new().init(d)
    });
    // Attention-based: mien's kernels cover only their convolutions.
    bench_network(c, "vit_tiny", |d| VitTinyConfig::new().init(d));
    bench_network(c, "hybrid_transformer", |d| {
        HybridTransformerConfig::new().init(d)
    });
}

criterion_group!(benches, training);
criterion_main!(benches);
