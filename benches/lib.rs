//! Shared set-up for mien's criterion benchmarks (the benchmarks are the `*.rs` files beside
//! this one). Run them with `cargo bench -p mien-benches`; pick the backend with
//! `MIEN_DEVICE` and the matching Cargo feature, e.g.
//! `MIEN_DEVICE=wgpu cargo bench -p mien-benches --features wgpu`.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use mien_core::Backbone;
use mien_models::Classifier;

/// A random `[batch, 1, 48, 48]` batch in `[0, 1]` and random FER2013 labels.
pub fn random_fer_batch(batch: usize, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let images = Tensor::random([batch, 1, 48, 48], Distribution::Default, device);
    let labels = Tensor::random([batch], Distribution::Uniform(0.0, 7.0), device);
    (images, labels)
}

/// A closure that runs one full training step (forward, cross-entropy, backward, AdamW
/// update) of `model` on a fixed batch, and waits for the device to finish it.
///
/// `device` must be an autodiff device.
pub fn train_step<B: Backbone + 'static>(
    model: Classifier<B>,
    batch: usize,
    device: &Device,
) -> impl FnMut() {
    let (images, labels) = random_fer_batch(batch, device);
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut optim = AdamWConfig::new().init();
    let mut model = Some(model);
    move || {
        let current = model.take().expect("model is put back after every step");
        let loss = loss_fn.forward(current.forward(images.clone()), labels.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &current);
        let updated = optim.step(1e-3, current, grads);
        // Reading a value back makes lazy backends finish the step inside the timing.
        let _ = loss.into_scalar::<f32>();
        model = Some(updated);
    }
}
