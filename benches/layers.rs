//! Single layers at batch 64, 32 channels, 48×48, with mien's kernels and with burn's own
//! operations in the same run (compare with the same layers in PyTorch:
//! `tools/pytorch_baseline.py --layers`).
//!
//! ```text
//! cargo bench -p mien-benches --bench layers
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Distribution, Tensor};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mien_core::kernels::{Kernels, batch_norm_layer, conv2d_layer, max_pool2d_layer};
use mien_core::select_device;

// What the `train` binary uses too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SHAPE: [usize; 4] = [64, 32, 48, 48];

fn layers(c: &mut Criterion) {
    let device = select_device().unwrap_or_else(|e| panic!("{e}"));
    let train = device.clone().autodiff();
    let mut group = c.benchmark_group("layers_b64");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    let x = Tensor::<4>::random(SHAPE, Distribution::Default, &device);
    let x_t = Tensor::<4>::random(SHAPE, Distribution::Default, &train).require_grad();
    // The most expensive layer of the baseline CNN's first block, and mini-Xception's depthwise.
    let conv3x3 = Conv2dConfig::new([32, 32], [3, 3]).with_padding(PaddingConfig2d::Same);
    let depthwise = Conv2dConfig::new([32, 32], [3, 3])
        .with_groups(32)
        .with_padding(PaddingConfig2d::Same)
        .with_bias(false);
    let convs = [
        ("conv3x3_32x32_48px", conv3x3),
        ("depthwise3x3_32_48px", depthwise),
    ];
    let norm = BatchNormConfig::new(32).init(&device);
    let norm_t = BatchNormConfig::new(32).init(&train);
    let pool = MaxPool2dConfig::new([2, 2]).init();

    for kernels in [Kernels::Mien, Kernels::Burn] {
        let label = format!("{kernels:?}").to_lowercase();
        for (name, config) in &convs {
            let conv: Conv2d = config.init(&device);
            let conv_t: Conv2d = config.init(&train);
            group.bench_function(BenchmarkId::new(format!("{name}/forward"), &label), |b| {
                b.iter(|| kernels.scope(|| conv2d_layer(&conv, x.clone()).into_data()))
            });
            group.bench_function(
                BenchmarkId::new(format!("{name}/forward_backward"), &label),
                |b| {
                    b.iter(|| {
                        kernels.scope(|| {
                            let grads = conv2d_layer(&conv_t, x_t.clone()).sum().backward();
                            x_t.grad(&grads).map(|g| g.into_data())
                        })
                    })
                },
            );
        }
        group.bench_function(
            BenchmarkId::new("batchnorm_32_48px/inference", &label),
            |b| b.iter(|| kernels.scope(|| batch_norm_layer(&norm, x.clone()).into_data())),
        );
        group.bench_function(
            BenchmarkId::new("batchnorm_32_48px/train_forward_backward", &label),
            |b| {
                b.iter(|| {
                    kernels.scope(|| {
                        let grads = batch_norm_layer(&norm_t, x_t.clone()).sum().backward();
                        x_t.grad(&grads).map(|g| g.into_data())
                    })
                })
            },
        );
        group.bench_function(
            BenchmarkId::new("maxpool2x2_32_48px/forward_backward", &label),
            |b| {
                b.iter(|| {
                    kernels.scope(|| {
                        let grads = max_pool2d_layer(&pool, x_t.clone()).sum().backward();
                        x_t.grad(&grads).map(|g| g.into_data())
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, layers);
criterion_main!(benches);
