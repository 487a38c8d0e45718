//! mien's kernels against burn's own operations: forward values and every gradient, over random
//! shapes, strides, paddings, dilations and groups; and the gradients against finite differences.

use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use proptest::prelude::*;

use super::conv::ConvGeometry;
use super::{
    Kernels, NormSettings, batch_norm_layer, batch_norm_relu_layer, conv2d, conv2d_layer, dropout,
    dropout_layer, max_pool2d, max_pool2d_layer, normalise_batch,
};
use crate::device::cpu;

/// One convolution to compare: shapes, options and the seed of its values.
#[derive(Debug, Clone)]
struct Case {
    batch: usize,
    groups: usize,
    group_in: usize,
    out_channels: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: [(usize, usize); 2],
    bias: bool,
    seed: u64,
}

impl Case {
    fn options(&self) -> ConvOptions<2> {
        ConvOptions::new_with_padding(self.stride, self.padding, self.dilation, self.groups)
    }

    fn x_shape(&self) -> [usize; 4] {
        let [h, w] = self.size;
        [self.batch, self.groups * self.group_in, h, w]
    }

    fn weight_shape(&self) -> [usize; 4] {
        let [kh, kw] = self.kernel;
        [self.out_channels, self.group_in, kh, kw]
    }

    fn geometry(&self) -> Option<ConvGeometry> {
        ConvGeometry::new(
            self.x_shape(),
            self.weight_shape(),
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            1usize..=3,
            1usize..=3,
            1usize..=3,
            1usize..=3,
            any::<bool>(),
        ),
        (
            [1usize..=4, 1usize..=4],
            [1usize..=3, 1usize..=3],
            [1usize..=2, 1usize..=2],
        ),
        (
            [(0usize..=2, 0usize..=2), (0usize..=2, 0usize..=2)],
            [1usize..=11, 1usize..=11],
        ),
        (any::<bool>(), any::<u64>()),
    )
        .prop_map(
            |(
                (batch, groups, group_in, per_group_out, depthwise),
                (kernel, stride, dilation),
                (padding, extra),
                (bias, seed),
            )| {
                // Depthwise: one input channel per group, `per_group_out` outputs each.
                let (groups, group_in) = if depthwise {
                    (groups + group_in, 1)
                } else {
                    (groups, group_in)
                };
                // Big enough for at least one output pixel.
                let size = [0, 1].map(|i| dilation[i] * (kernel[i] - 1) + extra[i]);
                Case {
                    batch,
                    groups,
                    group_in,
                    out_channels: groups * per_group_out,
                    size,
                    kernel,
                    stride,
                    dilation,
                    padding,
                    bias,
                    seed,
                }
            },
        )
}

/// Reproducible values in [-1, 1) from a seed (SplitMix64).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn tensor<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let len = shape.iter().product();
    Tensor::from_data(TensorData::new(values(len, seed), shape), device)
}

/// The output, and the gradients of `sum(out · r)` for a fixed random `r` with respect to the
/// input, the weight and the bias, computed by `kernels`.
fn run(case: &Case, kernels: Kernels) -> [Vec<f32>; 4] {
    let device = cpu().autodiff();
    let x = tensor(case.x_shape(), case.seed, &device).require_grad();
    let weight = tensor(case.weight_shape(), case.seed ^ 1, &device).require_grad();
    let bias = case
        .bias
        .then(|| tensor([case.out_channels], case.seed ^ 2, &device).require_grad());
    let out = kernels.scope(|| conv2d(x.clone(), weight.clone(), bias.clone(), case.options()));
    let r = tensor(out.dims(), case.seed ^ 3, &device);
    let grads = (out.clone() * r).sum().backward();
    let read = |t: Option<Tensor<4>>| {
        t.map_or_else(Vec::new, |t| t.into_data().try_to_vec::<f32>().unwrap())
    };
    [
        read(Some(out.inner())),
        read(x.grad(&grads)),
        read(weight.grad(&grads)),
        bias.and_then(|b| b.grad(&grads))
            .map_or_else(Vec::new, |b| b.into_data().try_to_vec::<f32>().unwrap()),
    ]
}

/// `max |a − b| ≤ 1e-4 · max(1, max |b|)`.
fn assert_close(what: &str, a: &[f32], b: &[f32]) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len(), "{} lengths", what);
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
    prop_assert!(
        worst <= 1e-4 * scale,
        "{what}: max difference {worst} (scale {scale})"
    );
    Ok(())
}

proptest! {
    #![proptest_config(crate::fuzzing::cases(96))]

    #[test]
    fn forward_and_every_gradient_equal_burns(case in case()) {
        prop_assume!(case.geometry().is_some());
        let mien = run(&case, Kernels::Mien);
        let burn = run(&case, Kernels::Burn);
        for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient"].iter().enumerate() {
            assert_close(what, &mien[i], &burn[i])?;
        }
    }
}

/// `sum(conv(x, w) · r)` is linear in `x` and in `w`, so a central difference is exact up to
/// rounding: every gradient entry is checked against one.
#[test]
fn gradients_equal_finite_differences() {
    let case = Case {
        batch: 2,
        groups: 2,
        group_in: 2,
        out_channels: 4,
        size: [5, 6],
        kernel: [3, 2],
        stride: [2, 1],
        dilation: [1, 2],
        padding: [(1, 0), (2, 1)],
        bias: true,
        seed: 7,
    };
    let device = cpu();
    let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
        let t = |v: &[f32], shape: Vec<usize>| {
            Tensor::<4>::from_data(TensorData::new(v.to_vec(), shape), &device)
        };
        let bias = Tensor::<1>::from_data(TensorData::new(b.to_vec(), [b.len()]), &device);
        let out = Kernels::Mien.scope(|| {
            conv2d(
                t(x, case.x_shape().to_vec()),
                t(w, case.weight_shape().to_vec()),
                Some(bias),
                case.options(),
            )
        });
        let r = tensor(out.dims(), case.seed ^ 3, &device);
        let products: Vec<f32> = (out * r).into_data().try_to_vec::<f32>().unwrap();
        products.iter().map(|&v| f64::from(v)).sum()
    };
    let [_, dx, dw, db] = run(&case, Kernels::Mien);
    let mut inputs = [
        values(case.x_shape().iter().product(), case.seed),
        values(case.weight_shape().iter().product(), case.seed ^ 1),
        values(case.out_channels, case.seed ^ 2),
    ];
    for (which, analytic) in [dx, dw, db].iter().enumerate() {
        for i in 0..analytic.len() {
            let eps = 0.5;
            let original = inputs[which][i];
            inputs[which][i] = original + eps;
            let up = loss(&inputs[0], &inputs[1], &inputs[2]);
            inputs[which][i] = original - eps;
            let down = loss(&inputs[0], &inputs[1], &inputs[2]);
            inputs[which][i] = original;
            let numeric = (up - down) / (2.0 * f64::from(eps));
            assert!(
                (numeric - f64::from(analytic[i])).abs() < 1e-3,
                "gradient {which}[{i}]: analytic {} numeric {numeric}",
                analytic[i]
            );
        }
    }
}

/// A module with "same" padding at stride 2 pads asymmetrically; `conv2d_layer` must pad as
/// burn's own `Conv2d::forward` does.
#[test]
fn conv2d_layer_matches_the_module_for_every_padding() {
    let device = cpu();
    for (padding, stride, groups) in [
        (PaddingConfig2d::Same, 2, 1),
        (PaddingConfig2d::Same, 1, 4),
        (PaddingConfig2d::Valid, 1, 1),
        (PaddingConfig2d::Explicit(1, 0, 2, 1), 2, 2),
    ] {
        let conv = Conv2dConfig::new([4, 8], [3, 3])
            .with_padding(padding.clone())
            .with_stride([stride, stride])
            .with_groups(groups)
            .init(&device);
        let x = tensor([2, 4, 9, 10], 11, &device);
        let ours: Vec<f32> = Kernels::Mien
            .scope(|| conv2d_layer(&conv, x.clone()))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let burns: Vec<f32> = conv.forward(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(ours.len(), burns.len(), "{padding:?} stride {stride}");
        let worst = ours
            .iter()
            .zip(&burns)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-5, "{padding:?} stride {stride}: {worst}");
    }
}

#[test]
fn geometry_rejects_shapes_that_do_not_fit() {
    let ok = ConvGeometry::new([1, 4, 8, 8], [6, 2, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 2).unwrap();
    assert_eq!(ok.out_shape(), [1, 6, 6, 6]);
    // Input channels not groups × weight's channels.
    assert!(
        ConvGeometry::new([1, 4, 8, 8], [6, 3, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 2).is_none()
    );
    // Output channels not a multiple of groups.
    assert!(
        ConvGeometry::new([1, 4, 8, 8], [5, 2, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 2).is_none()
    );
    // Kernel larger than the padded image.
    assert!(
        ConvGeometry::new([1, 1, 2, 8], [1, 1, 3, 3], [1, 1], [(0, 0); 2], [1, 1], 1).is_none()
    );
    // Zero stride.
    assert!(
        ConvGeometry::new([1, 1, 8, 8], [1, 1, 3, 3], [0, 1], [(0, 0); 2], [1, 1], 1).is_none()
    );
}

#[test]
fn the_kernel_switch_parses_and_scopes() {
    assert_eq!("burn".parse::<Kernels>().unwrap(), Kernels::Burn);
    assert_eq!(" MIEN ".parse::<Kernels>().unwrap(), Kernels::Mien);
    assert!("onednn".parse::<Kernels>().is_err());
    let outer = Kernels::current();
    Kernels::Burn.scope(|| {
        assert_eq!(Kernels::current(), Kernels::Burn);
        Kernels::Mien.scope(|| assert_eq!(Kernels::current(), Kernels::Mien));
        assert_eq!(Kernels::current(), Kernels::Burn);
    });
    assert_eq!(Kernels::current(), outer);
}

/// The batch-norm output, statistics and gradients of `sum(out · r)` computed by `kernels`.
fn run_batch_norm(
    shape: [usize; 4],
    settings: NormSettings,
    seed: u64,
    kernels: Kernels,
) -> [Vec<f32>; 6] {
    let device = cpu().autodiff();
    let channels = shape[1];
    // An offset and scale per run, so the statistics are not those of [-1, 1).
    let x = (tensor(shape, seed, &device) * 3.0 + 0.5).require_grad();
    let gamma = tensor([channels], seed ^ 1, &device).require_grad();
    let beta = tensor([channels], seed ^ 2, &device).require_grad();
    let (out, mean, variance) =
        kernels.scope(|| normalise_batch(x.clone(), gamma.clone(), beta.clone(), settings));
    let r = tensor(out.dims(), seed ^ 3, &device);
    let grads = (out.clone() * r).sum().backward();
    let read = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap();
    [
        out.inner().into_data().try_to_vec::<f32>().unwrap(),
        read(mean.inner()),
        read(variance.inner()),
        x.grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
        read(gamma.grad(&grads).unwrap()),
        read(beta.grad(&grads).unwrap()),
    ]
}

proptest! {
    #![proptest_config(crate::fuzzing::cases(64))]

    /// With and without the fused ReLU (γ and β in [-1, 1), so about half the outputs are
    /// clamped and the mask matters).
    #[test]
    fn batch_norm_and_its_gradients_equal_burns(
        shape in [1usize..=4, 1usize..=5, 1usize..=9, 1usize..=9],
        epsilon in prop_oneof![Just(1e-5), Just(1e-3)],
        relu in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // A single value per channel has zero variance: ε alone sets the scale.
        let settings = NormSettings { epsilon, relu };
        let mien = run_batch_norm(shape, settings, seed, Kernels::Mien);
        let burn = run_batch_norm(shape, settings, seed, Kernels::Burn);
        let names = ["output", "mean", "variance", "input gradient", "gamma gradient", "beta gradient"];
        for (i, what) in names.iter().enumerate() {
            assert_close(what, &mien[i], &burn[i])?;
        }
    }
}

/// `batch_norm_layer` in training mode gives the module's output and moves the running
/// statistics exactly as `BatchNorm::forward` does; in inference mode it is the module itself.
#[test]
fn batch_norm_layer_matches_the_module_and_its_running_statistics() {
    let device = cpu().autodiff();
    let x = tensor([4, 3, 5, 6], 5, &device) * 2.0 + 1.0;
    let norm = BatchNormConfig::new(3).init(&device);
    let ours = Kernels::Mien.scope(|| batch_norm_layer(&norm, x.clone()));
    let theirs_norm = BatchNormConfig::new(3).init(&device);
    let theirs = theirs_norm.forward(x.clone());
    let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
    let read1 = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap();
    assert_close("output", &read(ours), &read(theirs)).unwrap();
    assert_close(
        "running mean",
        &read1(norm.running_mean.value_sync()),
        &read1(theirs_norm.running_mean.value_sync()),
    )
    .unwrap();
    assert_close(
        "running variance",
        &read1(norm.running_var.value_sync()),
        &read1(theirs_norm.running_var.value_sync()),
    )
    .unwrap();
    // The statistics moved away from their initial 0 and 1.
    assert!(
        read1(norm.running_mean.value_sync())
            .iter()
            .all(|&m| m != 0.0)
    );

    // Inference: the running statistics, unchanged by the call.
    let frozen = norm.clone().no_grad();
    let before = read1(frozen.running_mean.value_sync());
    let inference = Kernels::Mien.scope(|| batch_norm_layer(&frozen, x.clone().inner()));
    assert_close(
        "inference output",
        &read(inference),
        &read(frozen.forward(x.clone().inner())),
    )
    .unwrap();
    assert_eq!(read1(frozen.running_mean.value_sync()), before);

    // With the ReLU, in both modes: the module's output, rectified.
    let relu = burn::tensor::activation::relu;
    let ours = Kernels::Mien.scope(|| batch_norm_relu_layer(&norm, x.clone()));
    assert_close(
        "training, ReLU",
        &read(ours),
        &read(relu(norm.forward(x.clone()))),
    )
    .unwrap();
    let ours = Kernels::Mien.scope(|| batch_norm_relu_layer(&frozen, x.clone().inner()));
    let theirs = relu(frozen.forward(x.inner()));
    assert_close("inference, ReLU", &read(ours), &read(theirs)).unwrap();
}

/// Dropout's gradient is its own mask: `d(sum(y · r)) / dx` is `r / keep` where `x` was kept and
/// 0 where it was dropped, with either kernels.
#[test]
fn dropout_gradient_is_its_mask() {
    let device = cpu().autodiff();
    for kernels in [Kernels::Mien, Kernels::Burn] {
        // Values in [1, 3): none is zero, so a zero output means dropped.
        let x = (tensor([4, 3, 17, 19], 8, &device) + 2.0).require_grad();
        let r = tensor([4, 3, 17, 19], 9, &device);
        let y = kernels.scope(|| dropout(x.clone(), 0.3));
        let dx = x.grad(&(y.clone() * r.clone()).sum().backward()).unwrap();
        let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        let (x, y, r, dx) = (read(x.inner()), read(y.inner()), read(r.inner()), read(dx));
        let kept = y.iter().filter(|&&v| v != 0.0).count();
        let share = kept as f64 / y.len() as f64;
        assert!((share - 0.7).abs() < 0.05, "{kernels:?}: kept {share}");
        for i in 0..y.len() {
            let (expected_y, expected_dx) = match y[i] != 0.0 {
                true => (x[i] / 0.7, r[i] / 0.7),
                false => (0.0, 0.0),
            };
            assert!((y[i] - expected_y).abs() <= 1e-5, "{kernels:?} y[{i}]");
            assert!((dx[i] - expected_dx).abs() <= 1e-5, "{kernels:?} dx[{i}]");
        }
    }
}

/// mien's dropout masks follow the device's generator: the same seed gives the same mask, and
/// successive calls different ones. (The only test in this crate that draws from the device's
/// generator, whose state is global.)
#[test]
fn dropout_masks_follow_the_device_seed() {
    let device = cpu().autodiff();
    let x = tensor([2, 4, 16, 16], 10, &device) + 2.0;
    let mask = |y: Tensor<4>| -> Vec<bool> {
        let values = y.into_data().try_to_vec::<f32>().unwrap();
        values.iter().map(|&v| v != 0.0).collect()
    };
    let draw = || Kernels::Mien.scope(|| mask(dropout(x.clone(), 0.5)));
    device.seed(3);
    let (first, second) = (draw(), draw());
    device.seed(3);
    assert_eq!(draw(), first, "reseeding repeats the mask");
    assert_ne!(first, second, "successive calls draw new masks");
}

/// `dropout_layer` is the identity where burn's `Dropout` is: without autodiff and when frozen.
#[test]
fn dropout_layer_is_the_identity_outside_training() {
    let layer = burn::nn::DropoutConfig::new(0.5).init();
    let device = cpu();
    let x = tensor([2, 3, 4, 5], 11, &device);
    let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(read(dropout_layer(&layer, x.clone())), read(x.clone()));
    let x = tensor([2, 3, 4, 5], 11, &device.autodiff());
    assert_eq!(
        read(dropout_layer(&layer.clone().freeze(), x.clone())),
        read(x.clone())
    );
    let dropped = read(dropout_layer(&layer, x.clone()));
    assert!(dropped.contains(&0.0), "training drops");
}

/// The max pool's output and the input gradient of `sum(out · r)`, computed by `kernels`. The
/// input is rectified, so that many windows tie at zero and the tie rule is exercised.
fn run_max_pool(case: &Case, kernels: Kernels) -> [Vec<f32>; 2] {
    let device = cpu().autodiff();
    let shape = [case.batch, case.groups, case.size[0], case.size[1]];
    let x = tensor(shape, case.seed, &device)
        .clamp_min(0.0)
        .require_grad();
    let out = kernels.scope(|| {
        max_pool2d(
            x.clone(),
            case.kernel,
            case.stride,
            case.padding,
            case.dilation,
        )
    });
    let r = tensor(out.dims(), case.seed ^ 3, &device);
    let grads = (out.clone() * r).sum().backward();
    [
        out.inner().into_data().try_to_vec::<f32>().unwrap(),
        x.grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
    ]
}

proptest! {
    #![proptest_config(crate::fuzzing::cases(64))]

    #[test]
    fn max_pool_and_its_gradient_equal_burns(case in case()) {
        // Padding of at most half the window, as burn and PyTorch require.
        let mut case = case;
        for (pad, k) in case.padding.iter_mut().zip(case.kernel) {
            *pad = (pad.0.min(k / 2), pad.1.min(k / 2));
        }
        let geometry = ConvGeometry::new(
            [case.batch, case.groups, case.size[0], case.size[1]],
            [case.groups, 1, case.kernel[0], case.kernel[1]],
            case.stride,
            case.padding,
            case.dilation,
            case.groups,
        );
        prop_assume!(geometry.is_some());
        let mien = run_max_pool(&case, Kernels::Mien);
        let burn = run_max_pool(&case, Kernels::Burn);
        assert_close("output", &mien[0], &burn[0])?;
        assert_close("input gradient", &mien[1], &burn[1])?;
    }
}

#[test]
fn max_pool2d_layer_matches_the_module() {
    let device = cpu();
    let x = tensor([2, 3, 11, 10], 9, &device);
    for pool in [
        MaxPool2dConfig::new([2, 2]).init(),
        MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(),
        MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Same)
            .init(),
    ] {
        let ours = Kernels::Mien.scope(|| max_pool2d_layer(&pool, x.clone()));
        let theirs = pool.forward(x.clone());
        assert_eq!(ours.dims(), theirs.dims(), "{pool:?}");
        assert_eq!(
            ours.into_data().try_to_vec::<f32>().unwrap(),
            theirs.into_data().try_to_vec::<f32>().unwrap(),
            "{pool:?}"
        );
    }
}
