//! mien's own CPU kernels inside burn, for training as well as inference.
//!
//! burn-flex's convolutions are general, and their backward passes are built from other
//! operations (transposed convolutions, convolutions with swapped axes); its batch norm makes a
//! dozen passes with two transposed copies. Training a small CNN was 4–5× slower than on
//! PyTorch on the same cores. This module gives burn a second implementation of the operations
//! mien's backbones spend their time on, through burn's backend extension mechanism:
//!
//! - burn-flex (the CPU) runs mien's kernels: convolutions as im2col + GEMM (`faer`) per image
//!   (direct vector loops for depthwise ones) with hand-written input, weight and bias
//!   gradients; batch norm in two fused passes each way; max pooling; the batch spread over
//!   every core (rayon), and the same bits whatever the thread count;
//! - `Autodiff<B>` records backward steps that call those gradient kernels;
//! - every other backend (wgpu, CUDA) keeps burn's own operations.
//!
//! Backbones call [`conv2d_layer`], [`batch_norm_layer`] and [`max_pool2d_layer`] with burn's
//! own modules, whose parameter names and layout stay burn's, so every saved model loads
//! unchanged. `MIEN_KERNELS=burn` (or [`Kernels::scope`]) sends the same calls to burn's own
//! operations instead, for tests and side-by-side benchmarks. Outputs and gradients equal burn's
//! within 1e-4 (property tests in `kernels/tests.rs`); figures in `docs/BENCHMARKS.md`.
//!
//! ```
//! use burn::nn::conv::Conv2dConfig;
//! use burn::tensor::{Distribution, Tensor};
//!
//! let device = mien_core::device::cpu();
//! let conv = Conv2dConfig::new([1, 8], [3, 3]).init(&device);
//! let x = Tensor::<4>::random([2, 1, 48, 48], Distribution::Default, &device);
//! let fast = mien_core::kernels::conv2d_layer(&conv, x.clone());
//! let burn = conv.forward(x);
//! fast.into_data().assert_approx_eq::<f32>(&burn.into_data(), Default::default());
//! ```

mod batch_norm;
mod conv;
mod dropout;
#[cfg(feature = "flex")]
mod extension;
mod pool;
mod simd;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::str::FromStr;
use std::sync::OnceLock;

use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, Dropout, PaddingConfig2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

use crate::Error;
use batch_norm::NormSettings;

/// The environment variable that picks the kernels: `mien` (default) or `burn`.
pub const KERNELS_ENV: &str = "MIEN_KERNELS";

/// Which implementation runs the operations of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// mien's kernels on the CPU; burn's operations on other backends.
    #[default]
    Mien,
    /// burn's own operations everywhere.
    Burn,
}

impl FromStr for Kernels {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "mien" => Ok(Kernels::Mien),
            "burn" => Ok(Kernels::Burn),
            other => Err(Error::InvalidSetting {
                variable: KERNELS_ENV,
                value: other.to_string(),
                expected: "`mien` (default) or `burn`",
            }),
        }
    }
}

thread_local! {
    static SCOPED: Cell<Option<Kernels>> = const { Cell::new(None) };
}

impl Kernels {
    /// The kernels in force on this thread: the innermost [`Kernels::scope`], else
    /// `MIEN_KERNELS` (read once per process; a value it cannot parse is reported on standard
    /// error once and mien's kernels are used).
    pub fn current() -> Kernels {
        static FROM_ENV: OnceLock<Kernels> = OnceLock::new();
        SCOPED.get().unwrap_or_else(|| {
            *FROM_ENV.get_or_init(|| match std::env::var(KERNELS_ENV) {
                Ok(value) => value.parse().unwrap_or_else(|e| {
                    eprintln!("warning: {e}; using mien's kernels");
                    Kernels::Mien
                }),
                Err(_) => Kernels::Mien,
            })
        })
    }

    /// Runs `f` with these kernels on the current thread (the operations called from it, not
    /// threads it starts), then restores the previous choice.
    pub fn scope<R>(self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Kernels>);
        impl Drop for Restore {
            fn drop(&mut self) {
                SCOPED.set(self.0);
            }
        }
        let _restore = Restore(SCOPED.replace(Some(self)));
        f()
    }
}

/// 2-D convolution, as [`burn::tensor::module::conv2d`]:
/// `x: [N, C_in, H, W]`, `weight: [C_out, C_in / groups, KH, KW]`, `bias: [C_out]`
/// `-> [N, C_out, out_h, out_w]`, differentiable on an autodiff device.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if runs_mien_kernels(&x.device()) {
        use burn::backend::Dispatch;
        use extension::KernelOps;
        let (x, weight) = (x.into_dispatch(), weight.into_dispatch());
        return Tensor::from_dispatch(match bias {
            Some(bias) => <Dispatch as KernelOps>::mien_conv2d_biased(
                x,
                weight,
                bias.into_dispatch(),
                options,
            ),
            None => <Dispatch as KernelOps>::mien_conv2d(x, weight, options),
        });
    }
    burn::tensor::module::conv2d(x, weight, bias, options)
}

/// Whether an operation on `device` runs mien's kernels: burn-flex, with or without autodiff,
/// unless [`Kernels::Burn`] is in force.
pub fn runs_mien_kernels(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    if Kernels::current() == Kernels::Mien {
        use burn::backend::DispatchDevice;
        return matches!(
            device.as_dispatch().clone().inner(),
            DispatchDevice::Flex(_)
        );
    }
    let _ = device;
    false
}

/// A burn [`Conv2d`] module applied to `x: [N, C_in, H, W]` through [`conv2d`]; the same result
/// as `conv.forward(x)`.
pub fn conv2d_layer(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let padding = padding_pairs(
        &conv.padding,
        [height, width],
        conv.kernel_size,
        conv.stride,
    );
    let options = ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
    conv2d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        options,
    )
}

/// A burn [`BatchNorm`] module applied to `x: [N, C, H, W]`; the same result and the same
/// running-statistics update as `norm.forward(x)`. Training mode (an autodiff device and a
/// layer not frozen) runs [`batch_norm_train`]; inference mode folds the running statistics
/// into one scale and shift per channel.
pub fn batch_norm_layer(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    normalise(norm, x, false)
}

/// [`batch_norm_layer`] followed by a ReLU, in one pass each way on the CPU: the same result as
/// `relu(norm.forward(x))`.
pub fn batch_norm_relu_layer(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    normalise(norm, x, true)
}

fn normalise(norm: &BatchNorm, x: Tensor<4>, relu: bool) -> Tensor<4> {
    let device = x.device();
    if !runs_mien_kernels(&device) {
        let y = norm.forward(x);
        return if relu {
            burn::tensor::activation::relu(y)
        } else {
            y
        };
    }
    if !(device.is_autodiff() && norm.training.is_enabled()) {
        let mean = norm.running_mean.value().to_device(&device);
        let variance = norm.running_var.value().to_device(&device);
        let scale = norm.gamma.val() / variance.add_scalar(norm.epsilon).sqrt();
        let shift = norm.beta.val() - mean * scale.clone();
        return affine(x, scale, shift, relu);
    }
    let settings = NormSettings {
        epsilon: norm.epsilon,
        relu,
    };
    let (output, mean, variance) = normalise_batch(x, norm.gamma.val(), norm.beta.val(), settings);
    let momentum = norm.momentum;
    let update = |running: &burn::module::RunningState<Tensor<1>>, batch: Tensor<1>| {
        let previous = running.value_sync().to_device(&device);
        running.update(
            previous
                .mul_scalar(1.0 - momentum)
                .add(batch.detach().mul_scalar(momentum))
                .detach(),
        );
    };
    update(&norm.running_mean, mean);
    update(&norm.running_var, variance);
    output
}

/// `x: [N, C, ...]` times `scale[c]` plus `shift[c]` per channel (batch normalisation in
/// inference mode, with its statistics folded in); differentiable on an autodiff device.
///
/// # Panics
/// When `D < 2` (a tensor without a channel axis): a programming error, not an input error.
pub fn channel_affine<const D: usize>(
    x: Tensor<D>,
    scale: Tensor<1>,
    shift: Tensor<1>,
) -> Tensor<D> {
    affine(x, scale, shift, false)
}

/// [`channel_affine`], then `max(0, ·)` with `relu`.
fn affine<const D: usize>(
    x: Tensor<D>,
    scale: Tensor<1>,
    shift: Tensor<1>,
    relu: bool,
) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if runs_mien_kernels(&x.device()) {
        use burn::backend::Dispatch;
        use extension::KernelOps;
        return Tensor::from_dispatch(<Dispatch as KernelOps>::mien_channel_affine(
            x.into_dispatch(),
            scale.into_dispatch(),
            shift.into_dispatch(),
            relu,
        ));
    }
    let mut per_channel = [1; D];
    per_channel[1] = scale.dims()[0];
    let y = x * scale.reshape(per_channel) + shift.reshape(per_channel);
    if relu {
        burn::tensor::activation::relu(y)
    } else {
        y
    }
}

/// Batch normalisation with the batch's own statistics, as
/// [`burn::tensor::module::batch_norm_train`]: `x: [N, C, ...]`, `gamma, beta: [C]`
/// `-> (output [N, C, ...], mean [C], biased variance [C])`; differentiable in `x`, `gamma` and
/// `beta` on an autodiff device.
pub fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    let settings = NormSettings {
        epsilon,
        relu: false,
    };
    normalise_batch(x, gamma, beta, settings)
}

/// [`batch_norm_train`], then a ReLU if `settings` asks for one.
fn normalise_batch<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    settings: NormSettings,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    #[cfg(feature = "flex")]
    if runs_mien_kernels(&x.device()) {
        use burn::backend::Dispatch;
        use extension::KernelOps;
        let (output, mean, variance) = <Dispatch as KernelOps>::mien_batch_norm_train(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            settings,
        );
        return (
            Tensor::from_dispatch(output),
            Tensor::from_dispatch(mean),
            Tensor::from_dispatch(variance),
        );
    }
    let result = burn::tensor::module::batch_norm_train(x, gamma, beta, settings.epsilon);
    let output = match settings.relu {
        true => burn::tensor::activation::relu(result.output),
        false => result.output,
    };
    (output, result.mean, result.variance)
}

/// A burn [`Dropout`] module applied to `x` through [`dropout`]: the identity unless training
/// (an autodiff device and a layer not frozen), as `layer.forward(x)`.
pub fn dropout_layer<const D: usize>(layer: &Dropout, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !(layer.training.is_enabled() && device.is_autodiff()) {
        return x;
    }
    dropout(x, layer.prob)
}

/// Dropout with probability `prob` (0 ≤ prob < 1): each element zeroed with probability `prob`,
/// the rest scaled by `1 / (1 − prob)`; differentiable on an autodiff device. On the CPU the
/// mask comes from a counter-based hash seeded from the device's random generator (so
/// `device.seed(..)` makes it reproducible), made on every core and never stored; elsewhere it
/// is burn's Bernoulli mask.
///
/// # Panics
/// When `prob` is outside `[0, 1)`, as burn's `DropoutConfig::init`: a programming error.
pub fn dropout<const D: usize>(x: Tensor<D>, prob: f64) -> Tensor<D> {
    assert!(
        (0.0..1.0).contains(&prob),
        "dropout probability {prob} outside [0, 1)"
    );
    if prob == 0.0 {
        return x;
    }
    let keep = 1.0 - prob;
    #[cfg(feature = "flex")]
    if runs_mien_kernels(&x.device()) {
        use burn::backend::Dispatch;
        use extension::KernelOps;
        let seed = draw_seed(&x.device());
        return Tensor::from_dispatch(<Dispatch as KernelOps>::mien_dropout(
            x.into_dispatch(),
            keep,
            seed,
        ));
    }
    let mask = x.random_like(burn::tensor::Distribution::Bernoulli(keep));
    x * mask * (1.0 / keep)
}

/// 64 random bits from `device`'s generator, from three draws of 30 bits (burn-flex's integers
/// are `i32`).
#[cfg(feature = "flex")]
fn draw_seed(device: &Device) -> u64 {
    const BITS: u32 = 30;
    let draws = Tensor::<1, burn::tensor::Int>::random(
        [3],
        burn::tensor::Distribution::Uniform(0.0, f64::from(1u32 << BITS)),
        device,
    );
    let draws: Vec<i64> = draws
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap_or_default();
    draws.iter().fold(0, |seed, &bits| {
        (seed << BITS) | (bits as u64 & ((1 << BITS) - 1))
    })
}

/// A burn [`MaxPool2d`] module applied to `x: [N, C, H, W]` through [`max_pool2d`]; the same
/// result (and gradient) as `pool.forward(x)`.
pub fn max_pool2d_layer(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    if pool.ceil_mode {
        return pool.forward(x);
    }
    let padding = padding_pairs(
        &pool.padding,
        [height, width],
        pool.kernel_size,
        pool.stride,
    );
    max_pool2d(x, pool.kernel_size, pool.stride, padding, pool.dilation)
}

/// 2-D max pooling (floor mode): `x: [N, C, H, W] -> [N, C, out_h, out_w]`, padding as
/// `(begin, end)` pairs, padded pixels never chosen; differentiable on an autodiff device.
pub fn max_pool2d(
    x: Tensor<4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if runs_mien_kernels(&x.device()) && x.dtype() == burn::tensor::DType::F32 {
        let [batch, channels, h, w] = x.dims();
        let fits = conv::ConvGeometry::new(
            [batch, channels, h, w],
            [channels, 1, kernel[0], kernel[1]],
            stride,
            padding,
            dilation,
            channels,
        )
        .is_some();
        if fits {
            use burn::backend::Dispatch;
            use extension::KernelOps;
            return Tensor::from_dispatch(<Dispatch as KernelOps>::mien_max_pool2d(
                x.into_dispatch(),
                kernel,
                stride,
                padding,
                dilation,
            ));
        }
    }
    let options = burn::tensor::ops::MaxPoolOptions::new(kernel)
        .with_stride(stride)
        .with_padding_pairs(padding)
        .with_dilation(dilation);
    burn::tensor::module::max_pool2d(x, options)
}

/// A [`PaddingConfig2d`] as `(begin, end)` pairs for an input of `[height, width]`.
pub(crate) fn padding_pairs(
    padding: &PaddingConfig2d,
    [height, width]: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> [(usize, usize); 2] {
    match *padding {
        PaddingConfig2d::Valid => [(0, 0); 2],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Same => [
            same_padding(height, kernel[0], stride[0]),
            same_padding(width, kernel[1], stride[1]),
        ],
    }
}

/// "Same" padding exactly as burn's `Conv2d` computes it (TensorFlow's rule, which burn applies
/// without dilation): the output has `⌈size / stride⌉` pixels, and an odd total puts the extra
/// pixel at the end.
fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = if out > 0 {
        ((out - 1) * stride + kernel).saturating_sub(size)
    } else {
        0
    };
    (total / 2, total - total / 2)
}
