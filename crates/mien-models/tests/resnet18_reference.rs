//! mien's ResNet-18 computes what torchvision's does, given the same weights.
//!
//! `tools/resnet18_reference.py` built torchvision's ResNet-18 with the same 48×48 stem,
//! set every tensor from a formula, ran it on a formula input and saved the 512 features in
//! `fixtures/resnet18_torchvision.json`. This test sets the same formula weights — tensor by
//! tensor, in the same order — and compares.

use mien_core::Backbone;
use mien_core::burn::module::{Module, ModuleMapper, Param};
use mien_core::burn::tensor::{Tensor, TensorData, Tolerance};
use mien_models::backbones::ResNet18Config;

/// Sets the t-th float tensor from the formula documented in `tools/resnet18_reference.py`.
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

#[test]
fn resnet18_matches_torchvision() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../../fixtures/resnet18_torchvision.json")).unwrap();
    let expected: Vec<f32> = fixture["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();

    let device = mien_core::device::cpu();
    let mut formula = FormulaWeights::default();
    let model = ResNet18Config::new().init(&device).map(&mut formula);
    assert_eq!(
        formula.tensors,
        fixture["float_tensors"].as_u64().unwrap() as usize
    );

    let input: Vec<f32> = (0..48 * 48)
        .map(|i| (0.5 + 0.5 * (0.11 * i as f64).sin()) as f32)
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(input, [1, 1, 48, 48]), &device);
    let features = model.features(x).into_data();
    features.assert_approx_eq::<f32>(
        &TensorData::new(expected, [1, 512]),
        Tolerance::absolute(1e-3).set_relative(1e-3),
    );
}
