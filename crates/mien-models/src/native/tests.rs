//! The native pass against burn's, on the bundled models (whose batch norms carry trained
//! statistics, so folding them is exercised).

use burn::prelude::*;

use super::*;
use crate::pretrained::Pretrained;
use crate::registry::Architecture;
use crate::weights::{HeadSpec, ModelSpec};

fn device() -> Device {
    mien_core::device::cpu()
}

/// `n` deterministic 48×48 gray faces in `[0, 1]`.
fn images(n: usize) -> Vec<f32> {
    (0..n * 48 * 48)
        .map(|i| ((i * 7919) % 1000) as f32 / 999.0)
        .collect()
}

fn assert_close(native: &[f32], burn: Tensor<1>, tolerance: f32) {
    assert_close_for("", native, burn, tolerance);
}

fn assert_close_for(what: &str, native: &[f32], burn: Tensor<1>, tolerance: f32) {
    let burn = mien_core::read_f32(burn).unwrap();
    assert_eq!(native.len(), burn.len(), "{what}");
    for (i, (a, b)) in native.iter().zip(&burn).enumerate() {
        assert!(
            (a - b).abs() <= tolerance,
            "{what} output {i}: native {a}, burn {b}"
        );
    }
}

#[test]
fn the_bundled_models_match_burn() {
    let n = 3;
    let input = images(n);
    for pretrained in [Pretrained::Default, Pretrained::FerPlusSmile] {
        let saved = pretrained.load(&device()).unwrap();
        let native = NativeModel::from_model(&saved.model).unwrap();
        let tensor = Tensor::<1>::from_floats(input.as_slice(), &device()).reshape([n, 1, 48, 48]);
        let expected = saved.model.predict(tensor);
        let got = native.predict(&input);
        let probabilities = got.probabilities.unwrap();
        assert_close(
            &probabilities,
            expected
                .probabilities
                .unwrap()
                .reshape([probabilities.len()]),
            1e-4,
        );
        match (got.smile, expected.smile) {
            (Some(native), Some(burn)) => assert_close(&native, burn, 1e-4),
            (None, None) => {}
            other => panic!("{pretrained}: smile heads differ: {other:?}"),
        }
    }
}

#[test]
fn a_smile_only_head_runs_natively() {
    let spec = ModelSpec::new(
        Architecture::MiniXception.default_config(),
        HeadSpec::Smile,
        mien_core::Preprocessing::default(),
    );
    let model = spec.init(&device()).unwrap();
    let native = NativeModel::from_model(&model).unwrap();
    let got = native.predict(&images(2));
    assert!(got.probabilities.is_none());
    let tensor = Tensor::<1>::from_floats(images(2).as_slice(), &device()).reshape([2, 1, 48, 48]);
    assert_close(
        &got.smile.unwrap(),
        model.predict(tensor).smile.unwrap(),
        1e-4,
    );
}

/// Every architecture's interpreted description against its burn module, with batch-norm
/// statistics moved off their initial values by a training-mode pass (so that folding them
/// into the convolutions is exercised) and both heads.
#[test]
fn every_architecture_matches_burn() {
    let n = 2;
    let input = images(n);
    let training = device().autodiff();
    for architecture in Architecture::ALL {
        let spec = ModelSpec::new(
            crate::tests::small_config(architecture),
            HeadSpec::MultiTask {
                label_set: mien_core::LabelSet::FerPlus,
            },
            mien_core::Preprocessing::default(),
        );
        let model = spec.init(&training).unwrap();
        let batch =
            Tensor::<1>::from_floats(images(4).as_slice(), &training).reshape([4, 1, 48, 48]);
        let _ = model.predict(batch);
        let model = model.valid();
        let native = NativeModel::from_model(&model).unwrap();
        let tensor = Tensor::<1>::from_floats(input.as_slice(), &device()).reshape([n, 1, 48, 48]);
        let expected = model.predict(tensor);
        let got = native.predict(&input);
        let probabilities = got.probabilities.unwrap();
        let burn = expected
            .probabilities
            .unwrap()
            .reshape([probabilities.len()]);
        let name = architecture.name();
        assert_close_for(name, &probabilities, burn, 1e-4);
        assert_close_for(name, &got.smile.unwrap(), expected.smile.unwrap(), 1e-4);
    }
}

#[test]
#[should_panic(expected = "not whole")]
fn a_partial_image_is_refused() {
    let saved = Pretrained::Default.load(&device()).unwrap();
    let native = NativeModel::from_model(&saved.model).unwrap();
    native.predict(&[0.0; 100]);
}
