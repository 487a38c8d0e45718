//! Single layers of the baseline CNN at batch 64, to see where flex spends its time
//! (compare with the same layers in PyTorch: `tools/pytorch_baseline.py --layers`).
//!
//! ```text
//! cargo bench -p mien-benches --bench layers
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use burn::nn::conv::Conv2dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use mien_core::select_device;

fn layers(c: &mut Criterion) {
    let device = select_device().unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("layers_b64");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    // The most expensive layer of the first block: 32 -> 32 channels, 3×3, 48×48.
    let conv = Conv2dConfig::new([32, 32], [3, 3])
        .with_padding(PaddingConfig2d::Same)
        .init(&device);
    let x = Tensor::<4>::random([64, 32, 48, 48], Distribution::Default, &device);
    group.bench_function("conv3x3_32x32_48px/forward", |b| {
        b.iter(|| conv.forward(x.clone()).into_data())
    });

    let train = device.clone().autodiff();
    let conv_t = Conv2dConfig::new([32, 32], [3, 3])
        .with_padding(PaddingConfig2d::Same)
        .init(&train);
    let x_t = Tensor::<4>::random([64, 32, 48, 48], Distribution::Default, &train).require_grad();
    group.bench_function("conv3x3_32x32_48px/forward_backward", |b| {
        b.iter(|| {
            let grads = conv_t.forward(x_t.clone()).sum().backward();
            x_t.grad(&grads).map(|g| g.into_data())
        })
    });

    let norm = BatchNormConfig::new(32).init(&device);
    group.bench_function("batchnorm_32_48px/forward", |b| {
        b.iter(|| norm.forward(x.clone()).into_data())
    });
    group.finish();
}

criterion_group!(benches, layers);
criterion_main!(benches);
