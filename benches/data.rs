//! Data pipeline speed: loading all of `$MIEN_DATA/fer2013` (32,298 PNGs) into memory, and
//! producing augmented batches of 64. `docs/BENCHMARKS.md` records the figures.
//!
//! ```text
//! cargo bench -p mien-benches --bench data
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mien_core::{Preprocessing, device};
use mien_data::augment::Augmentation;
use mien_data::mix::BatchMix;
use mien_data::{AugmentConfig, FaceBatcher, LabelMode, LabelledDataset, LoadOptions, Split, load};

/// `$MIEN_DATA/fer2013`; `None` without the data (the bench is skipped).
fn fer2013_root() -> Option<std::path::PathBuf> {
    mien_core::data_dir::test_data("fer2013").unwrap_or_else(|e| panic!("{e}"))
}

fn load_all(c: &mut Criterion) {
    let Some(root) = fer2013_root() else {
        return;
    };
    let mut group = c.benchmark_group("data");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(32_298));
    group.bench_function("load_fer2013_32298_png", |b| {
        b.iter(|| load(&root, &LoadOptions::default()).unwrap().dataset.len())
    });
    group.finish();
}

fn augmented_batches(c: &mut Criterion) {
    let Some(root) = fer2013_root() else {
        return;
    };
    let data = load(root, &LoadOptions::default()).unwrap().dataset;
    let train = LabelledDataset::new(data.split(Split::Training), LabelMode::Fer2013).unwrap();
    let augment = AugmentConfig {
        steps: vec![
            Augmentation::RandomCrop { padding: 4, p: 1.0 },
            Augmentation::HorizontalFlip { p: 0.5 },
            Augmentation::Rotation {
                max_degrees: 10.0,
                p: 0.5,
            },
            Augmentation::BrightnessContrast {
                brightness: 0.2,
                contrast: 0.2,
                p: 0.5,
            },
            Augmentation::RandomErasing {
                min_area: 0.02,
                max_area: 0.2,
                p: 0.5,
            },
        ],
        mix: Some(BatchMix::Mixup { alpha: 0.2, p: 0.5 }),
    };
    let batcher = FaceBatcher::new(Preprocessing::default(), LabelMode::Fer2013)
        .unwrap()
        .with_augmentation(augment, 7)
        .unwrap();
    let device = device::cpu();
    let mut group = c.benchmark_group("data");
    group.throughput(Throughput::Elements(64));
    let mut start = 0;
    group.bench_function("augmented_batch_b64", |b| {
        b.iter(|| {
            let items = (start..start + 64)
                .map(|i| train.item(i % train.len()).unwrap())
                .collect();
            start += 64;
            batcher
                .try_batch(items, &device)
                .unwrap()
                .images
                .into_data()
        })
    });
    group.finish();
}

criterion_group!(benches, load_all, augmented_batches);
criterion_main!(benches);
