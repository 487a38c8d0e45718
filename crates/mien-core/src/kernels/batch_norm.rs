//! Batch normalisation in training mode on `f32` slices in NCHW layout: the forward pass with
//! the batch statistics, and its backward pass, each in two sweeps over the activations.
//!
//! burn's generic version builds both from tensor operations: two transposed copies of the input
//! for the statistics, and about a dozen full passes in the backward. Here the statistics are
//! sums per image plane (eight vector lanes in `f32`, planes added up in `f64`), and the output
//! and input gradient are one fused `a · x + b`-style pass each.

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

/// The normalised output and the batch mean and biased variance per channel.
pub struct Normalised {
    /// `[N, C, P]`.
    pub output: Vec<f32>,
    /// `[C]`.
    pub mean: Vec<f32>,
    /// `[C]`, biased (divided by N · P).
    pub variance: Vec<f32>,
}

/// `y = γ · (x − mean) / √(var + ε) + β` with the batch's own statistics.
pub fn forward(shape: Planes, x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f64) -> Normalised {
    let (mean, variance): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| vectorised(ChannelStatistics { shape, x, c }))
        .unzip();
    let scale: Vec<f32> = (0..shape.channels)
        .map(|c| gamma[c] / (f64::from(variance[c]) + epsilon).sqrt() as f32)
        .collect();
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
                constant: beta[c] - mean[c] * scale[c],
            });
        });
    Normalised {
        output,
        mean,
        variance,
    }
}

/// `y = scale[c] · x + shift[c]`: batch normalisation in inference mode.
pub fn channel_affine(shape: Planes, x: &[f32], scale: &[f32], shift: &[f32]) -> Vec<f32> {
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
/// `dx = γ / σ · (dy − dβ / M − x̂ · dγ / M)` over the `M = N · P` values of each channel.
pub fn backward(
    shape: Planes,
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
    grad: &[f32],
) -> Gradients {
    let inv_std: Vec<f32> = variance
        .iter()
        .map(|&v| (1.0 / (f64::from(v) + epsilon).sqrt()) as f32)
        .collect();
    let (beta_grad, gamma_grad): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let (sum_dy, sum_dy_x) = vectorised(GradientSums { shape, grad, x, c });
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
            vectorised(Affine {
                out,
                first: (p, dy),
                second: Some((-p * slope, x)),
                constant: p * (mean[c] * slope - beta_grad[c] / m),
            });
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

/// A channel's `(Σ dy, Σ dy · x)`.
struct GradientSums<'a> {
    shape: Planes,
    grad: &'a [f32],
    x: &'a [f32],
    c: usize,
}

impl VectorLoop for GradientSums<'_> {
    type Output = (f64, f64);

    #[inline(always)]
    fn run<S: Simd>(self, _simd: S) -> (f64, f64) {
        let Self { shape, grad, x, c } = self;
        let planes = shape.of_channel(grad, c).zip(shape.of_channel(x, c));
        planes.fold((0.0, 0.0), |(s, sx), (dy, x)| {
            (s + f64::from(sum(dy)), sx + f64::from(dot(dy, x)))
        })
    }
}

/// `out[i] = a · u[i] (+ b · v[i]) + constant` for `first = (a, u)`, `second = (b, v)`.
struct Affine<'a> {
    out: &'a mut [f32],
    first: (f32, &'a [f32]),
    second: Option<(f32, &'a [f32])>,
    constant: f32,
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
        } = self;
        match second {
            None => {
                for (out, u) in out.iter_mut().zip(u) {
                    *out = a * u + constant;
                }
            }
            Some((b, v)) => {
                for ((out, u), v) in out.iter_mut().zip(u).zip(v) {
                    *out = a * u + b * v + constant;
                }
            }
        }
    }
}
