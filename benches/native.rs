//! Every architecture at batch 1 on one core, through mien's interpreter of its description
//! (`mien_core::graph::NativeNetwork`) and through burn-flex: the default configuration with a
//! 7-class head, freshly initialised (the arithmetic does not depend on the weights).
//! onnxruntime's figures for the exported files come from `tools/onnx_check.py --bench` in
//! the same session; `docs/BENCHMARKS.md` records both.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo bench -p mien-benches --bench native
//! ```

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mien_core::{LabelSet, Preprocessing};
use mien_models::native::NativeModel;
use mien_models::registry::Architecture;
use mien_models::weights::{HeadSpec, ModelSpec};

fn native(c: &mut Criterion) {
    let device = mien_core::device::cpu();
    let mut group = c.benchmark_group("native_b1");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    let face: Vec<f32> = (0..48 * 48).map(|i| (i % 251) as f32 / 250.0).collect();
    for architecture in Architecture::ALL {
        let spec = ModelSpec::new(
            architecture.default_config(),
            HeadSpec::Emotion {
                label_set: LabelSet::Fer2013,
            },
            Preprocessing::default(),
        );
        let model = spec.init(&device).unwrap_or_else(|e| panic!("{e}")).valid();
        let native = NativeModel::from_model(&model).unwrap_or_else(|e| panic!("{e}"));
        group.bench_function(BenchmarkId::new("native", architecture), |b| {
            b.iter(|| native.predict(&face))
        });
        group.bench_function(BenchmarkId::new("burn", architecture), |b| {
            b.iter(|| {
                let input =
                    Tensor::<4>::from_data(TensorData::new(face.clone(), [1, 1, 48, 48]), &device);
                model.predict(input).probabilities.map(|p| p.into_data())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, native);
criterion_main!(benches);
