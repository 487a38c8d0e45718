//! 2-D max pooling on `f32` slices in NCHW layout, forward and backward, one image plane per
//! task.
//!
//! The backward pass finds each window's maximum again instead of reading indices saved by the
//! forward pass: a window is a handful of values, and recomputing them costs less than writing
//! and reading an index per output. Ties go to the first maximum in scan order and NaN always
//! wins, as in burn-flex (and PyTorch), so both engines route gradients to the same pixels.

use rayon::prelude::*;

use super::conv::ConvGeometry;

/// Calls `visit(columns, taps)` for each tap of output row `oy`'s windows in scan order: the
/// output columns the tap reaches and, for each, the flat in-plane index of the pixel it reads.
#[inline(always)]
fn for_each_tap(
    geo: &ConvGeometry,
    oy: usize,
    mut visit: impl FnMut(std::ops::Range<usize>, std::iter::StepBy<std::ops::RangeFrom<usize>>),
) {
    let width = geo.in_size[1];
    for ki in 0..geo.kernel[0] {
        let Some(iy) = geo.input_row(oy, ki) else {
            continue;
        };
        for kj in 0..geo.kernel[1] {
            let (columns, first_ix) = geo.columns(kj);
            if !columns.is_empty() {
                visit(columns, (iy * width + first_ix..).step_by(geo.stride[1]));
            }
        }
    }
}

/// `[N, C, H, W] -> [N, C, out_h, out_w]`, each output the maximum of its window (padding
/// excluded); `geo` is the geometry of a depthwise convolution with the pooling window.
pub fn forward(geo: &ConvGeometry, x: &[f32]) -> Vec<f32> {
    let mut out = vec![f32::NEG_INFINITY; geo.batch * geo.out_channels * geo.out_plane()];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(geo.out_plane())
        .zip(x.par_chunks(geo.in_plane()))
        .for_each(|(out, plane)| {
            for (oy, row) in out.chunks_exact_mut(geo.out_size[1]).enumerate() {
                for_each_tap(geo, oy, |columns, taps| {
                    for (max, i) in row[columns].iter_mut().zip(taps) {
                        let value = plane[i];
                        // NaN wins, as in burn-flex; the first tap of a window always replaces
                        // the initial −∞ or equals it.
                        *max = if value > *max || value.is_nan() {
                            value
                        } else {
                            *max
                        };
                    }
                });
            }
        });
    out
}

/// The input gradient: each output's gradient added to the pixel its maximum came from.
pub fn backward(geo: &ConvGeometry, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0; x.len()];
    if geo.out_plane() == 0 {
        return dx;
    }
    dx.par_chunks_mut(geo.in_plane())
        .zip(
            x.par_chunks(geo.in_plane())
                .zip(grad.par_chunks(geo.out_plane())),
        )
        .for_each(|(dx, (plane, grad))| {
            let out_w = geo.out_size[1];
            let (mut best, mut at) = (vec![0.0; out_w], vec![usize::MAX; out_w]);
            for (oy, row) in grad.chunks_exact(out_w).enumerate() {
                best.fill(f32::NEG_INFINITY);
                at.fill(usize::MAX);
                for_each_tap(geo, oy, |columns, taps| {
                    let slots = best[columns.clone()].iter_mut().zip(&mut at[columns]);
                    for ((max, at), i) in slots.zip(taps) {
                        let value = plane[i];
                        // The first maximum in scan order; NaN always wins.
                        if *at == usize::MAX || value > *max || value.is_nan() {
                            *max = value;
                            *at = i;
                        }
                    }
                });
                for (&i, g) in at.iter().zip(row) {
                    if let Some(dx) = dx.get_mut(i) {
                        *dx += g;
                    }
                }
            }
        });
    dx
}
