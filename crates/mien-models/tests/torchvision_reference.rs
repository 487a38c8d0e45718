//! mien's ResNet-18, ResNet-50 and EfficientNet-B0 compute what torchvision's do, given the
//! same weights.
//!
//! `tools/torchvision_reference.py` built each torchvision network with the same 48×48 stem,
//! set every tensor from a formula, ran it on a formula input and saved the features in
//! `fixtures/<network>_torchvision.json`. These tests set the same formula weights — tensor by
//! tensor, in the same order — and compare.

use mien_core::Backbone;
use mien_core::burn::module::{Module, ModuleMapper, Param};
use mien_core::burn::tensor::{Tensor, TensorData, Tolerance};
use mien_models::backbones::{EfficientNetB0Config, ResNet18Config, ResNet50Config};

/// Sets the t-th float tensor from the formula documented in `tools/torchvision_reference.py`.
#[derive(Default)]
struct FormulaWeights {
    tensors: usize,
    batch_norm_run: usize,
}

impl ModuleMapper for FormulaWeights {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let t = self.tensors;
        self.tensors += 1;
        self.batch_norm_run = if D == 1 { self.batch_norm_run + 1 } else { 0 };
        let role = (self.batch_norm_run + 3) % 4;
        param.map(|tensor| {
            let shape = tensor.dims();
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n)
                .map(|i| {
                    let s = (0.37 * i as f64 + 1.3 * t as f64).sin();
                    let v = if D == 4 {
                        s * (3.0 / (shape[1] * shape[2] * shape[3]) as f64).sqrt()
                    } else {
                        [1.0 + 0.1 * s, 0.1 * s, 0.1 * s, 1.0 + 0.5 * s.abs()][role]
                    };
                    v as f32
                })
                .collect();
            Tensor::from_data(TensorData::new(values, shape), &tensor.device())
        })
    }
}

/// Runs `backbone` with the formula weights on the formula input and compares its features
/// with those in `fixture`.
fn matches_torchvision<B: Backbone + Module>(backbone: B, fixture: &str) {
    let fixture: serde_json::Value = serde_json::from_str(fixture).unwrap();
    let expected: Vec<f32> = fixture["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let mut formula = FormulaWeights::default();
    let backbone = backbone.map(&mut formula);
    assert_eq!(
        formula.tensors,
        fixture["float_tensors"].as_u64().unwrap() as usize,
        "the same tensors in the same order"
    );
    let device = mien_core::device::cpu();
    let input: Vec<f32> = (0..48 * 48)
        .map(|i| (0.5 + 0.5 * (0.11 * i as f64).sin()) as f32)
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(input, [1, 1, 48, 48]), &device);
    let features = backbone.features(x).into_data();
    let dim = expected.len();
    features.assert_approx_eq::<f32>(
        &TensorData::new(expected, [1, dim]),
        Tolerance::absolute(1e-3).set_relative(1e-3),
    );
}

#[test]
fn resnet18_matches_torchvision() {
    matches_torchvision(
        ResNet18Config::new().init(&mien_core::device::cpu()),
        include_str!("../../../fixtures/resnet18_torchvision.json"),
    );
}

#[test]
fn resnet50_matches_torchvision() {
    matches_torchvision(
        ResNet50Config::new().init(&mien_core::device::cpu()),
        include_str!("../../../fixtures/resnet50_torchvision.json"),
    );
}

#[test]
fn efficientnet_b0_matches_torchvision() {
    matches_torchvision(
        EfficientNetB0Config::new().init(&mien_core::device::cpu()),
        include_str!("../../../fixtures/efficientnet_b0_torchvision.json"),
    );
}
