//! Batch normalisation in training mode on `f32` slices in NCHW layout: the forward pass with
//! the batch statistics, and its backward pass, each in two sweeps over the activations.
//!
//! burn's generic version builds both from tensor operations: two transposed copies of the input
//! for the statistics, and about a dozen full passes in the backward. Here the statistics are
//! sums per image plane (eight vector lanes in `f32`, planes added up in `f64`), and the output
//! and input gradient are one fused `a · x + b`-style pass each. A ReLU after the normalisation
//! can ride along: the forward pass clamps as it writes, and the backward pass recomputes which
//! outputs were positive from `x` and the statistics instead of reading a saved mask.

use pulp::Simd;
use rayon::prelude::*;

use super::simd::{VectorLoop, centred_squares, dot, sum, vectorised};

/// Activations `[N, C, P]` (P = pixels per plane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planes {
    /// Images.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Pixels per channel plane.
    pub plane: usize,
}

impl Planes {
    fn count(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    /// The planes of channel `c`, one per image.
    fn of_channel<'a>(&self, values: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        (0..self.batch).map(move |n| &values[(n * self.channels + c) * self.plane..][..self.plane])
    }
}

/// What a batch normalisation does besides its tensors.
#[derive(Debug, Clone, Copy)]
pub struct NormSettings {
    /// Added to the variance.
    pub epsilon: f64,
    /// Whether a ReLU follows the normalisation.
    pub relu: bool,
}

/// The learned part of a batch normalisation and what follows it.
#[derive(Debug, Clone, Copy)]
pub struct Normalisation<'a> {
    /// `[C]`.
    pub gamma: &'a [f32],
    /// `[C]`.
    pub beta: &'a [f32],
    /// Added to the variance.
    pub epsilon: f64,
    /// Whether a ReLU follows (`max(0, y)`, NaN kept, as burn's).
    pub relu: bool,
}

impl Normalisation<'_> {
    /// `y = scale[c] · x + shift[c]` for the batch statistics: the one place both passes compute
    /// them, so the backward pass finds the forward pass's ReLU mask bit for bit.
    fn folded(&self, mean: &[f32], variance: &[f32]) -> (Vec<f32>, Vec<f32>) {
        (0..mean.len())
            .map(|c| {
                let scale = self.gamma[c] / (f64::from(variance[c]) + self.epsilon).sqrt() as f32;
                (scale, self.beta[c] - mean[c] * scale)
            })
            .unzip()
    }
}

/// The normalised output and the batch mean and biased variance per channel.
pub struct Normalised {
    /// `[N, C, P]`.
    pub output: Vec<f32>,
    /// `[C]`.
    pub mean: Vec<f32>,
    /// `[C]`, biased (divided by N · P).
    pub variance: Vec<f32>,
}

/// `y = γ · (x − mean) / √(var + ε) + β` with the batch's own statistics (then the ReLU, if
/// `norm` has one).
pub fn forward(shape: Planes, x: &[f32], norm: &Normalisation) -> Normalised {
    let (mean, variance): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| vectorised(ChannelStatistics { shape, x, c }))
        .unzip();
    let (scale, shift) = norm.folded(&mean, &variance);
    Normalised {
        output: channel_affine(shape, x, &scale, &shift, norm.relu),
        mean,
        variance,
    }
}

/// `y = scale[c] · x + shift[c]` (then `max(0, y)` with `relu`): batch normalisation in
/// inference mode.
pub fn channel_affine(
    shape: Planes,
    x: &[f32],
    scale: &[f32],
    shift: &[f32],
    relu: bool,
) -> Vec<f32> {
    let mut output = vec![0.0; x.len()];
    output
        .par_chunks_mut(shape.plane.max(1))
        .zip(x.par_chunks(shape.plane.max(1)))
        .enumerate()
        .for_each(|(i, (out, x))| {
            let c = i % shape.channels;
            vectorised(Affine {
                out,
                first: (scale[c], x),
                second: None,
                constant: shift[c],
                relu,
            });
        });
    output
}

/// The gradients of [`forward`] with respect to `x`, `γ` and `β`, given `d y`.
pub struct Gradients {
    /// `[N, C, P]`.
    pub x: Vec<f32>,
    /// `[C]`.
    pub gamma: Vec<f32>,
    /// `[C]`.
    pub beta: Vec<f32>,
}

/// With `x̂ = (x − mean) / σ`: `dβ = Σ dy`, `dγ = Σ dy · x̂`,
/// `dx = γ / σ · (dy − dβ / M − x̂ · dγ / M)` over the `M = N · P` values of each channel,
/// where with a ReLU `dy` is the output gradient zeroed where the output was.
pub fn backward(
    shape: Planes,
    x: &[f32],
    norm: &Normalisation,
    [mean, variance]: [&[f32]; 2],
    grad: &[f32],
) -> Gradients {
    let gamma = norm.gamma;
    let inv_std: Vec<f32> = variance
        .iter()
        .map(|&v| (1.0 / (f64::from(v) + norm.epsilon).sqrt()) as f32)
        .collect();
    let (scale, shift) = norm.folded(mean, variance);
    let relu_of = |c: usize| norm.relu.then_some((scale[c], shift[c]));
    let (beta_grad, gamma_grad): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let relu = relu_of(c);
            let (sum_dy, sum_dy_x) = vectorised(GradientSums {
                shape,
                grad,
                x,
                c,
                relu,
            });
            // Σ dy · (x − mean) / σ
            let sum_dy_xhat = (sum_dy_x - f64::from(mean[c]) * sum_dy) * f64::from(inv_std[c]);
            (sum_dy as f32, sum_dy_xhat as f32)
        })
        .unzip();
    let m = shape.count() as f32;
    let mut x_grad = vec![0.0; x.len()];
    x_grad
        .par_chunks_mut(shape.plane.max(1))
        .zip(
            x.par_chunks(shape.plane.max(1))
                .zip(grad.par_chunks(shape.plane.max(1))),
        )
        .enumerate()
        .for_each(|(i, (out, (x, dy)))| {
            let c = i % shape.channels;
            // γ/σ · (dy − dβ/M − (x − mean) · dγ/(σ M)) as p · dy + q · x + r.
            let p = gamma[c] * inv_std[c];
            let slope = inv_std[c] * gamma_grad[c] / m;
            let constant = p * (mean[c] * slope - beta_grad[c] / m);
            match relu_of(c) {
                None => vectorised(Affine {
                    out,
                    first: (p, dy),
                    second: Some((-p * slope, x)),
                    constant,
                    relu: false,
                }),
                Some(relu) => vectorised(ReluInputGradient {
                    out,
                    dy,
                    x,
                    relu,
                    coefficients: [p, -p * slope, constant],
                }),
            }
        });
    Gradients {
        x: x_grad,
        gamma: gamma_grad,
        beta: beta_grad,
    }
}

/// A channel's batch mean and biased variance: plane sums in `f32`, added up in `f64`.
struct ChannelStatistics<'a> {
    shape: Planes,
    x: &'a [f32],
    c: usize,
}

impl VectorLoop for ChannelStatistics<'_> {
    type Output = (f32, f32);

    #[inline(always)]
    fn run<S: Simd>(self, _simd: S) -> (f32, f32) {
        let Self { shape, x, c } = self;
        let total: f64 = shape.of_channel(x, c).map(|p| f64::from(sum(p))).sum();
        let mean = (total / shape.count()) as f32;
        let squares: f64 = shape
            .of_channel(x, c)
            .map(|p| f64::from(centred_squares(p, mean)))
            .sum();
        (mean, (squares / shape.count()) as f32)
    }
}

/// The ReLU mask of `y = scale · x + shift` in vector registers: `(scale, shift, 0)` splatted.
/// The product and sum are rounded separately (no fused multiply-add), as in the forward pass's
/// loop, so the mask is bit for bit the one the forward pass applied.
#[derive(Clone, Copy)]
struct ReluMask<S: Simd> {
    scale: S::f32s,
    shift: S::f32s,
    zero: S::f32s,
}

impl<S: Simd> ReluMask<S> {
    #[inline(always)]
    fn new(simd: S, (scale, shift): (f32, f32)) -> Self {
        Self {
            scale: simd.splat_f32s(scale),
            shift: simd.splat_f32s(shift),
            zero: simd.splat_f32s(0.0),
        }
    }

    /// `dy` where the ReLU passed the gradient at `x` (its output positive, or NaN, which it
    /// keeps, as burn-flex's ReLU backward), 0 elsewhere.
    #[inline(always)]
    fn apply(&self, simd: S, dy: S::f32s, x: S::f32s) -> S::f32s {
        let y = simd.add_f32s(simd.mul_f32s(self.scale, x), self.shift);
        simd.select_f32s(simd.less_than_or_equal_f32s(y, self.zero), self.zero, dy)
    }
}

/// [`ReluMask::apply`] on one value.
#[inline(always)]
fn masked((scale, shift): (f32, f32), dy: f32, x: f32) -> f32 {
    let y = scale * x + shift;
    if y <= 0.0 { 0.0 } else { dy }
}

/// A channel's `(Σ dy, Σ dy · x)`, `dy` zeroed where the ReLU (`(scale, shift)`) blocked it.
struct GradientSums<'a> {
    shape: Planes,
    grad: &'a [f32],
    x: &'a [f32],
    c: usize,
    relu: Option<(f32, f32)>,
}

impl VectorLoop for GradientSums<'_> {
    type Output = (f64, f64);

    #[inline(always)]
    fn run<S: Simd>(self, simd: S) -> (f64, f64) {
        let Self {
            shape,
            grad,
            x,
            c,
            relu,
        } = self;
        let planes = shape.of_channel(grad, c).zip(shape.of_channel(x, c));
        planes.fold((0.0, 0.0), |(s, sx), (dy, x)| {
            let (plane_s, plane_sx) = match relu {
                None => (sum(dy), dot(dy, x)),
                Some(relu) => masked_sums(simd, dy, x, relu),
            };
            (s + f64::from(plane_s), sx + f64::from(plane_sx))
        })
    }
}

/// `(Σ g, Σ g · x)` with `g` the gradient the ReLU `(scale, shift)` passed.
#[inline(always)]
fn masked_sums<S: Simd>(simd: S, dy: &[f32], x: &[f32], relu: (f32, f32)) -> (f32, f32) {
    let mask = ReluMask::new(simd, relu);
    let (dy_v, dy_t) = S::as_simd_f32s(dy);
    let (x_v, x_t) = S::as_simd_f32s(x);
    let (mut s, mut sx) = (mask.zero, mask.zero);
    for (&dy, &x) in dy_v.iter().zip(x_v) {
        let g = mask.apply(simd, dy, x);
        s = simd.add_f32s(s, g);
        sx = simd.mul_add_e_f32s(g, x, sx);
    }
    let (mut tail_s, mut tail_sx) = (0.0, 0.0);
    for (&dy, &x) in dy_t.iter().zip(x_t) {
        let g = masked(relu, dy, x);
        tail_s += g;
        tail_sx += g * x;
    }
    (
        simd.reduce_sum_f32s(s) + tail_s,
        simd.reduce_sum_f32s(sx) + tail_sx,
    )
}

/// `out[i] = p · g[i] + q · x[i] + r` with `g = dy` where the ReLU passes and 0 elsewhere, for
/// `coefficients = [p, q, r]`.
struct ReluInputGradient<'a> {
    out: &'a mut [f32],
    dy: &'a [f32],
    x: &'a [f32],
    relu: (f32, f32),
    coefficients: [f32; 3],
}

impl VectorLoop for ReluInputGradient<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, simd: S) {
        let Self {
            out,
            dy,
            x,
            relu,
            coefficients: [p, q, r],
        } = self;
        let mask = ReluMask::new(simd, relu);
        let (out_v, out_t) = S::as_mut_simd_f32s(out);
        let (dy_v, dy_t) = S::as_simd_f32s(dy);
        let (x_v, x_t) = S::as_simd_f32s(x);
        let [p_v, q_v, r_v] = [p, q, r].map(|v| simd.splat_f32s(v));
        for ((out, &dy), &x) in out_v.iter_mut().zip(dy_v).zip(x_v) {
            let g = mask.apply(simd, dy, x);
            *out = simd.mul_add_e_f32s(p_v, g, simd.mul_add_e_f32s(q_v, x, r_v));
        }
        for ((out, &dy), &x) in out_t.iter_mut().zip(dy_t).zip(x_t) {
            *out = p * masked(relu, dy, x) + q * x + r;
        }
    }
}

/// `out[i] = a · u[i] (+ b · v[i]) + constant` for `first = (a, u)`, `second = (b, v)`; with
/// `relu` (one term only), `max(0, out[i])` with NaN kept.
struct Affine<'a> {
    out: &'a mut [f32],
    first: (f32, &'a [f32]),
    second: Option<(f32, &'a [f32])>,
    constant: f32,
    relu: bool,
}

impl VectorLoop for Affine<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, _simd: S) {
        let Self {
            out,
            first: (a, u),
            second,
            constant,
            relu,
        } = self;
        match second {
            None if relu => {
                for (out, u) in out.iter_mut().zip(u) {
                    let y = a * u + constant;
                    *out = if y <= 0.0 { 0.0 } else { y };
                }
            }
            None => {
                for (out, u) in out.iter_mut().zip(u) {
                    *out = a * u + constant;
                }
            }
            Some((b, v)) => {
                debug_assert!(!relu, "the two-term form is the input gradient: no ReLU");
                for ((out, u), v) in out.iter_mut().zip(u).zip(v) {
                    *out = a * u + b * v + constant;
                }
            }
        }
    }
}
