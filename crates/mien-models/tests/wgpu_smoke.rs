//! The wgpu code path really runs: one forward pass of the baseline CNN on wgpu equals the
//! CPU backend's output for the same weights and input.
//!
//! Built only with `--features wgpu`. Without a GPU, Mesa's software Vulkan driver (Debian
//! `mesa-vulkan-drivers`) provides a CPU adapter; `.ci/run` installs it and runs
//! `MIEN_DEVICE=wgpu:cpu cargo test -p mien-models --features wgpu --test wgpu_smoke`.
#![cfg(feature = "wgpu")]

use mien_core::burn::module::Module;
use mien_core::burn::tensor::{Distribution, Tensor, TensorData, Tolerance};
use mien_core::{DeviceChoice, device_for, select_device};
use mien_models::ClassifierConfig;
use mien_models::backbones::BaselineCnnConfig;

#[test]
fn baseline_forward_on_wgpu_matches_cpu() {
    let cpu = device_for(DeviceChoice::Cpu).unwrap();
    // MIEN_DEVICE picks the adapter (wgpu:cpu in CI); default to the CPU adapter, which
    // every machine with Mesa has.
    let gpu = match std::env::var("MIEN_DEVICE") {
        Ok(_) => select_device().unwrap(),
        Err(_) => device_for(DeviceChoice::WgpuCpu).unwrap(),
    };
    cpu.seed(3);
    let model = ClassifierConfig::new(7).init(BaselineCnnConfig::new().init(&cpu), &cpu);
    let images = Tensor::<4>::random([2, 1, 48, 48], Distribution::Default, &cpu);

    let expected: TensorData = model.forward(images.clone()).into_data();
    let actual = model
        .to_device(&gpu)
        .forward(images.to_device(&gpu))
        .into_data();
    actual.assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-3));
}
