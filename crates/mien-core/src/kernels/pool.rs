//! 2-D max pooling on `f32` slices in NCHW layout, forward and backward, one image plane per
//! task.
//!
//! The backward pass finds each window's maximum again instead of reading indices saved by the
//! forward pass: a window is a handful of values, and recomputing them costs less than writing
//! and reading an index per output. Ties go to the first maximum in scan order and NaN always
//! wins, as in burn-flex (and PyTorch), so both engines route gradients to the same pixels.

use rayon::prelude::*;

use super::conv::ConvGeometry;

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
            let (width, out_w) = (geo.in_size[1], geo.out_size[1]);
            for t in geo.row_taps() {
                let row = &mut out[t.oy * out_w..][..out_w][t.columns];
                let taps = plane[t.iy * width + t.first_ix..]
                    .iter()
                    .step_by(geo.stride[1]);
                for (max, &value) in row.iter_mut().zip(taps) {
                    // NaN wins, as in burn-flex; the first tap of a window always replaces
                    // the initial −∞ or equals it.
                    *max = if value > *max || value.is_nan() {
                        value
                    } else {
                        *max
                    };
                }
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
            let (width, out_w) = (geo.in_size[1], geo.out_size[1]);
            // The maximum of each output pixel's window so far, and its flat input index.
            let (mut best, mut at) = (vec![0.0; out_w], vec![usize::MAX; out_w]);
            let mut taps = geo.row_taps().peekable();
            for (oy, row) in grad.chunks_exact(out_w).enumerate() {
                best.fill(f32::NEG_INFINITY);
                at.fill(usize::MAX);
                while let Some(t) = taps.next_if(|t| t.oy == oy) {
                    let slots = best[t.columns.clone()].iter_mut().zip(&mut at[t.columns]);
                    let inputs = (t.iy * width + t.first_ix..).step_by(geo.stride[1]);
                    for ((max, at), i) in slots.zip(inputs) {
                        let value = plane[i];
                        // The first maximum in scan order; NaN always wins.
                        if *at == usize::MAX || value > *max || value.is_nan() {
                            *max = value;
                            *at = i;
                        }
                    }
                }
                for (&i, g) in at.iter().zip(row) {
                    if let Some(dx) = dx.get_mut(i) {
                        *dx += g;
                    }
                }
            }
        });
    dx
}
