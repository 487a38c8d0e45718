//! Behaviour every architecture must have: shapes, parameter counts, determinism, learning.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use mien_core::{Backbone, InputShape};

use crate::ClassifierConfig;
use crate::backbones::BaselineCnnConfig;

fn device() -> Device {
    mien_core::device::cpu()
}

#[test]
fn baseline_shapes_for_batch_1_and_4() {
    let device = device();
    let model = ClassifierConfig::new(7).init(BaselineCnnConfig::new().init(&device), &device);
    for n in [1, 4] {
        let logits = model.forward(Tensor::random(
            [n, 1, 48, 48],
            burn::tensor::Distribution::Default,
            &device,
        ));
        assert_eq!(logits.dims(), [n, 7]);
    }
    assert_eq!(model.backbone.feature_dim(), 512);
    assert_eq!(model.num_classes(), 7);
}

#[test]
fn baseline_accepts_rgb_and_larger_inputs() {
    let device = device();
    let input = InputShape {
        channels: 3,
        height: 96,
        width: 80,
    };
    let backbone = BaselineCnnConfig::new().with_input(input).init(&device);
    assert_eq!(backbone.input_shape(), input);
    let features = backbone.features(Tensor::zeros([2, 3, 96, 80], &device));
    assert_eq!(features.dims(), [2, 512]);
}

#[test]
fn baseline_parameter_count_matches_the_documented_figure() {
    let device = device();
    let backbone = BaselineCnnConfig::new().init(&device);
    // Convolutions (weights + biases) of the three double-conv blocks:
    let convs = (9 + 1) * 32
        + (32 * 9 + 1) * 32
        + (32 * 9 + 1) * 64
        + (64 * 9 + 1) * 64
        + (64 * 9 + 1) * 128
        + (128 * 9 + 1) * 128;
    // Batch norms, two per block: trainable gamma and beta, plus the running mean and
    // variance buffers that burn's `num_params` also counts.
    let norms = 4 * 2 * (32 + 64 + 128);
    let neck = 128 * 512 + 512;
    assert_eq!(backbone.num_params(), convs + norms + neck);
    assert_eq!(backbone.num_params(), 354_272);
    let model = ClassifierConfig::new(7).init(backbone, &device);
    assert_eq!(model.num_params(), 354_272 + 512 * 7 + 7);
}

#[test]
fn eval_mode_is_deterministic_and_probabilities_sum_to_one() {
    let device = device();
    let model = ClassifierConfig::new(8).init(BaselineCnnConfig::new().init(&device), &device);
    let x = Tensor::<4>::random([3, 1, 48, 48], burn::tensor::Distribution::Default, &device);
    let a = model.probabilities(x.clone()).into_data();
    let b = model.probabilities(x).into_data();
    a.assert_eq(&b, true);
    let sums = Tensor::<2>::from_data(a, &device).sum_dim(1).into_data();
    sums.assert_approx_eq::<f32>(
        &TensorData::from([[1.0f32], [1.0], [1.0]]),
        burn::tensor::Tolerance::default(),
    );
}

#[test]
fn a_few_adamw_steps_reduce_the_loss_and_reach_every_parameter() {
    let device = device().autodiff();
    device.seed(7);
    let mut model = ClassifierConfig::new(7).init(
        BaselineCnnConfig::new().with_dropout(0.0).init(&device),
        &device,
    );
    let images = Tensor::<4>::random([8, 1, 48, 48], burn::tensor::Distribution::Default, &device);
    let labels =
        Tensor::<1, Int>::from_data(TensorData::from([0i64, 1, 2, 3, 4, 5, 6, 3]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut optim = AdamWConfig::new().init();

    let mut losses = Vec::new();
    for step in 0..5 {
        let loss = loss_fn.forward(model.forward(images.clone()), labels.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        if step == 0 {
            // 40 tensors, less the 6 batch norms' running mean and variance (buffers).
            assert_eq!(count_param_tensors(&model), 40);
            assert_eq!(
                grads.len(),
                40 - 2 * 6,
                "every trainable parameter gets a gradient"
            );
        }
        model = optim.step(1e-3, model, grads);
    }
    assert!(losses[4] < losses[0], "loss did not fall: {losses:?}");
    // The trained model still runs without autodiff.
    assert_eq!(
        model
            .valid()
            .forward(Tensor::zeros([1, 1, 48, 48], &mien_core::device::cpu()))
            .dims(),
        [1, 7]
    );
}

fn count_param_tensors<M: Module>(module: &M) -> usize {
    #[derive(Default)]
    struct Counter(usize);
    impl burn::module::ModuleVisitor for Counter {
        fn visit_float<const D: usize>(&mut self, _param: &burn::module::Param<Tensor<D>>) {
            self.0 += 1;
        }
    }
    let mut counter = Counter::default();
    module.visit(&mut counter);
    counter.0
}
