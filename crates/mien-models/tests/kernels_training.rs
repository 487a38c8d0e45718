//! Training with mien's kernels follows training with burn's own operations: 30 AdamW steps of
//! the baseline CNN and of mini-Xception from the same seed give the same losses within 1e-3.
//!
//! Both runs draw the same random numbers (initial weights, dropout masks) in the same order,
//! so any difference comes from the kernels' arithmetic alone.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use mien_core::Backbone;
use mien_core::kernels::Kernels;
use mien_models::ClassifierConfig;
use mien_models::backbones::{BaselineCnnConfig, MiniXceptionConfig};

const STEPS: usize = 30;
const BATCH: usize = 8;

/// The loss after each of `STEPS` training steps on fixed random batches.
fn losses<B: Backbone + 'static>(kernels: Kernels, init: impl Fn(&Device) -> B) -> Vec<f32> {
    kernels.scope(|| {
        let device = mien_core::device::cpu().autodiff();
        device.seed(11);
        let mut model = ClassifierConfig::new(7).init(init(&device), &device);
        let mut optim = AdamWConfig::new().init();
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let batches: Vec<_> = (0..4)
            .map(|_| {
                let images =
                    Tensor::<4>::random([BATCH, 1, 48, 48], Distribution::Default, &device);
                let labels =
                    Tensor::<1, Int>::random([BATCH], Distribution::Uniform(0.0, 7.0), &device);
                (images, labels)
            })
            .collect();
        (0..STEPS)
            .map(|step| {
                let (images, labels) = batches[step % batches.len()].clone();
                let loss = loss_fn.forward(model.forward(images), labels);
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(2e-3, model.clone(), grads);
                loss.into_scalar::<f32>()
            })
            .collect()
    })
}

fn assert_same_training<B: Backbone + 'static>(name: &str, init: impl Fn(&Device) -> B + Copy) {
    let mien = losses(Kernels::Mien, init);
    let burn = losses(Kernels::Burn, init);
    for (step, (a, b)) in mien.iter().zip(&burn).enumerate() {
        assert!(
            (a - b).abs() <= 1e-3,
            "{name}, step {step}: loss {a} with mien's kernels, {b} with burn's\nmien: {mien:?}\nburn: {burn:?}"
        );
    }
    // The runs learned something: the loss on the repeated batches went down.
    assert!(mien[STEPS - 1] < mien[0], "{name} did not learn: {mien:?}");
}

#[test]
fn baseline_cnn_trains_the_same_with_either_kernels() {
    assert_same_training("baseline_cnn", |d| BaselineCnnConfig::new().init(d));
}

#[test]
fn mini_xception_trains_the_same_with_either_kernels() {
    assert_same_training("mini_xception", |d| MiniXceptionConfig::new().init(d));
}
