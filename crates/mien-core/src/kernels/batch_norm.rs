//! Batch normalisation in training mode on `f32` slices in NCHW layout: the forward pass with
//! the batch statistics, and its backward pass, each in two sweeps over the activations.
//!
//! burn's generic version builds both from tensor operations: two transposed copies of the input
//! for the statistics, and about a dozen full passes in the backward. Here the statistics are
//! sums per image plane (eight vector lanes in `f32`, planes added up in `f64`), and the output
//! and input gradient are one fused `a · x + b`-style pass each.

use rayon::prelude::*;

use super::lanes::{centred_squares, dot, sum};
use crate::native::vector_arch;

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
        .map(|c| {
            vector_arch().dispatch(
                #[inline(always)]
                || {
                    let sum: f64 = shape.of_channel(x, c).map(|p| f64::from(sum(p))).sum();
                    let mean = (sum / shape.count()) as f32;
                    let squares: f64 = shape
                        .of_channel(x, c)
                        .map(|p| f64::from(centred_squares(p, mean)))
                        .sum();
                    (mean, (squares / shape.count()) as f32)
                },
            )
        })
        .unzip();
    let scale: Vec<f32> = (0..shape.channels)
        .map(|c| gamma[c] / (f64::from(variance[c]) + epsilon).sqrt() as f32)
        .collect();
    let mut output = vec![0.0; x.len()];
    output
        .par_chunks_mut(shape.plane.max(1))
        .zip(x.par_chunks(shape.plane.max(1)))
        .enumerate()
        .for_each(|(i, (y, x))| {
            let c = i % shape.channels;
            let (a, b) = (scale[c], beta[c] - mean[c] * scale[c]);
            vector_arch().dispatch(
                #[inline(always)]
                || y.iter_mut().zip(x).for_each(|(y, x)| *y = a * x + b),
            );
        });
    Normalised {
        output,
        mean,
        variance,
    }
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
            vector_arch().dispatch(
                #[inline(always)]
                || {
                    let planes = shape.of_channel(grad, c).zip(shape.of_channel(x, c));
                    let (sum_dy, sum_dy_x) = planes.fold((0.0f64, 0.0f64), |(s, sx), (dy, x)| {
                        (s + f64::from(sum(dy)), sx + f64::from(dot(dy, x)))
                    });
                    // Σ dy · (x − mean) / σ
                    let sum_dy_xhat =
                        (sum_dy_x - f64::from(mean[c]) * sum_dy) * f64::from(inv_std[c]);
                    (sum_dy as f32, sum_dy_xhat as f32)
                },
            )
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
        .for_each(|(i, (dx, (x, dy)))| {
            let c = i % shape.channels;
            let scale = gamma[c] * inv_std[c];
            let shift = beta_grad[c] / m;
            let slope = inv_std[c] * gamma_grad[c] / m;
            let mean = mean[c];
            vector_arch().dispatch(
                #[inline(always)]
                || {
                    for ((dx, x), dy) in dx.iter_mut().zip(x).zip(dy) {
                        *dx = scale * (dy - shift - (x - mean) * slope);
                    }
                },
            );
        });
    Gradients {
        x: x_grad,
        gamma: gamma_grad,
        beta: beta_grad,
    }
}
