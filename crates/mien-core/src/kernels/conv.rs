//! 2-D convolution on `f32` slices in burn's NCHW layout: the forward pass and the three
//! gradients, on every core.
//!
//! Two engines, chosen by the shape of the convolution:
//! - **depthwise** (`groups == in_channels`, any channel multiplier): direct loops over each
//!   image plane, one output row and kernel tap at a time, so that for stride 1 every inner loop
//!   is a vectorised `row += w · row`;
//! - **everything else**: im2col and a matrix product per image and group (`faer`'s GEMM, one
//!   image per thread). A 1×1 convolution at stride 1 without padding skips im2col: the image is
//!   already the matrix.
//!
//! With `P = out_h · out_w` and `K = in_channels / groups · kernel_h · kernel_w`, per image and
//! group: `out = W · col` (`[C_out/g, K] · [K, P]`), `d col = Wᵀ · d out` scattered back onto
//! the image (col2im), `dW += d out · colᵀ` summed over the batch.

use std::ops::Range;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use pulp::Simd;
use rayon::prelude::*;

use super::simd::{VectorLoop, axpy, dot, sum, vectorised};

/// Everything about one convolution call that the kernels need, derived once from the
/// tensors' shapes and burn's `ConvOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input height and width.
    pub in_size: [usize; 2],
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride (height, width), non-zero.
    pub stride: [usize; 2],
    /// Dilation (height, width), non-zero.
    pub dilation: [usize; 2],
    /// Padding before the first row and column; the padding at the end only sets the output size.
    pub padding: [usize; 2],
    /// Channel groups; both channel counts are multiples of it.
    pub groups: usize,
    /// Output height and width.
    pub out_size: [usize; 2],
}

impl ConvGeometry {
    /// The geometry of `x: [N, C_in, H, W]` convolved with `weight: [C_out, C_in / groups, KH, KW]`,
    /// with padding as `(begin, end)` pairs per spatial dimension; `None` when the shapes do not
    /// fit together or the output would be empty.
    pub fn new(
        x: [usize; 4],
        weight: [usize; 4],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
        groups: usize,
    ) -> Option<Self> {
        let [batch, in_channels, height, width] = x;
        let [out_channels, group_in, kh, kw] = weight;
        if groups == 0
            || stride.contains(&0)
            || dilation.contains(&0)
            || in_channels != group_in * groups
            || out_channels % groups != 0
        {
            return None;
        }
        let out_len = |size: usize, (begin, end): (usize, usize), k: usize, s: usize, d: usize| {
            let span = d * (k - 1) + 1;
            let padded = size + begin + end;
            (k > 0 && padded >= span).then(|| (padded - span) / s + 1)
        };
        let out_h = out_len(height, padding[0], kh, stride[0], dilation[0])?;
        let out_w = out_len(width, padding[1], kw, stride[1], dilation[1])?;
        Some(Self {
            batch,
            in_channels,
            in_size: [height, width],
            out_channels,
            kernel: [kh, kw],
            stride,
            dilation,
            padding: [padding[0].0, padding[1].0],
            groups,
            out_size: [out_h, out_w],
        })
    }

    /// A geometry with no pixels, whose kernels return empty tensors.
    pub fn empty(channels: usize) -> Self {
        Self {
            batch: 0,
            in_channels: channels,
            in_size: [0, 0],
            out_channels: channels,
            kernel: [1, 1],
            stride: [1, 1],
            dilation: [1, 1],
            padding: [0, 0],
            groups: channels.max(1),
            out_size: [0, 0],
        }
    }

    /// Shape of the output, `[N, C_out, out_h, out_w]`.
    pub fn out_shape(&self) -> [usize; 4] {
        [
            self.batch,
            self.out_channels,
            self.out_size[0],
            self.out_size[1],
        ]
    }

    /// Shape of the weight, `[C_out, C_in / groups, KH, KW]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels / self.groups,
            self.kernel[0],
            self.kernel[1],
        ]
    }

    fn is_depthwise(&self) -> bool {
        self.groups == self.in_channels && self.groups > 1
    }

    /// A 1×1 convolution at stride 1 without padding: the image is its own im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1]
            && self.stride == [1, 1]
            && self.padding == [0, 0]
            && self.out_size == self.in_size
    }

    pub(super) fn in_plane(&self) -> usize {
        self.in_size[0] * self.in_size[1]
    }

    pub(super) fn out_plane(&self) -> usize {
        self.out_size[0] * self.out_size[1]
    }

    fn group_in(&self) -> usize {
        self.in_channels / self.groups
    }

    fn group_out(&self) -> usize {
        self.out_channels / self.groups
    }

    /// Rows of one group's im2col matrix: `C_in / groups · KH · KW`.
    fn patch_len(&self) -> usize {
        self.group_in() * self.kernel[0] * self.kernel[1]
    }

    /// The input row read by output row `oy` through kernel row `ki`, if inside the image.
    pub(super) fn input_row(&self, oy: usize, ki: usize) -> Option<usize> {
        (oy * self.stride[0] + ki * self.dilation[0])
            .checked_sub(self.padding[0])
            .filter(|&iy| iy < self.in_size[0])
    }

    /// The output columns whose input column through kernel column `kj` lies inside the image,
    /// and the input column of the first of them (`0..0` and 0 when there are none).
    pub(super) fn columns(&self, kj: usize) -> (Range<usize>, usize) {
        let (stride, width, pad) = (self.stride[1], self.in_size[1], self.padding[1]);
        let offset = kj * self.dilation[1];
        // ox · stride + offset − pad must lie in [0, width).
        let first = pad.saturating_sub(offset).div_ceil(stride);
        let end = (width + pad)
            .saturating_sub(offset)
            .div_ceil(stride)
            .min(self.out_size[1]);
        if first >= end {
            return (0..0, 0);
        }
        (first..end, first * stride + offset - pad)
    }

    /// Every tap of every output row that reads inside the image, in scan order (output row,
    /// then kernel row, then kernel column): what the direct (depthwise, pooling) loops visit.
    pub(super) fn row_taps(&self) -> impl Iterator<Item = RowTap> + '_ {
        let [kh, kw] = self.kernel;
        (0..self.out_size[0]).flat_map(move |oy| {
            (0..kh)
                .filter_map(move |ki| self.input_row(oy, ki).map(|iy| (ki, iy)))
                .flat_map(move |(ki, iy)| {
                    (0..kw).filter_map(move |kj| {
                        let (columns, first_ix) = self.columns(kj);
                        (!columns.is_empty()).then_some(RowTap {
                            oy,
                            iy,
                            tap: ki * kw + kj,
                            columns,
                            first_ix,
                        })
                    })
                })
        })
    }
}

/// One kernel tap applied along one output row: output columns `columns` read input row `iy`
/// from column `first_ix` on, every `stride` columns.
pub(super) struct RowTap {
    /// The output row.
    pub oy: usize,
    /// The input row.
    pub iy: usize,
    /// The tap's index in the kernel, `ki · KW + kj`.
    pub tap: usize,
    /// The output columns the tap reaches inside the image.
    pub columns: Range<usize>,
    /// The input column of the first of them.
    pub first_ix: usize,
}

/// `[N, C_in, H, W] ⊛ [C_out, C_in / g, KH, KW] (+ bias) -> [N, C_out, out_h, out_w]`.
pub fn forward(geo: &ConvGeometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let mut out = vec![0.0; geo.batch * geo.out_channels * geo.out_plane()];
    if out.is_empty() {
        return out;
    }
    if geo.is_depthwise() {
        depthwise_forward(geo, x, weight, &mut out);
    } else {
        let (patch, plane) = (geo.patch_len(), geo.out_plane());
        let col_len = if geo.is_pointwise() { 0 } else { patch * plane };
        out.par_chunks_mut(geo.out_channels * plane)
            .zip(x.par_chunks(geo.in_channels * geo.in_plane()))
            .for_each(|(out, x)| {
                with_scratch(col_len, |col| {
                    for g in 0..geo.groups {
                        let x = &x[g * geo.group_in() * geo.in_plane()..]
                            [..geo.group_in() * geo.in_plane()];
                        let col: &[f32] = if geo.is_pointwise() {
                            x
                        } else {
                            im2col(geo, x, col);
                            col
                        };
                        let w = &weight[g * geo.group_out() * patch..][..geo.group_out() * patch];
                        let out =
                            &mut out[g * geo.group_out() * plane..][..geo.group_out() * plane];
                        matmul(
                            MatMut::from_row_major_slice_mut(out, geo.group_out(), plane),
                            Accum::Replace,
                            MatRef::from_row_major_slice(w, geo.group_out(), patch),
                            MatRef::from_row_major_slice(col, patch, plane),
                            1.0,
                            Par::Seq,
                        );
                    }
                })
            });
    }
    if let Some(bias) = bias {
        let plane = geo.out_plane();
        out.par_chunks_mut(plane)
            .enumerate()
            .for_each(|(i, plane)| {
                plane
                    .iter_mut()
                    .for_each(|v| *v += bias[i % geo.out_channels])
            });
    }
    out
}

/// The gradient with respect to the input: `d out [N, C_out, out_h, out_w] -> d x [N, C_in, H, W]`.
pub fn input_grad(geo: &ConvGeometry, weight: &[f32], grad: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0; geo.batch * geo.in_channels * geo.in_plane()];
    if dx.is_empty() || grad.is_empty() {
        return dx;
    }
    if geo.is_depthwise() {
        depthwise_input_grad(geo, weight, grad, &mut dx);
        return dx;
    }
    let (patch, plane) = (geo.patch_len(), geo.out_plane());
    let col_len = if geo.is_pointwise() { 0 } else { patch * plane };
    dx.par_chunks_mut(geo.in_channels * geo.in_plane())
        .zip(grad.par_chunks(geo.out_channels * plane))
        .for_each(|(dx, grad)| {
            with_scratch(col_len, |col| {
                for g in 0..geo.groups {
                    let dx = &mut dx[g * geo.group_in() * geo.in_plane()..]
                        [..geo.group_in() * geo.in_plane()];
                    let w = &weight[g * geo.group_out() * patch..][..geo.group_out() * patch];
                    let grad = &grad[g * geo.group_out() * plane..][..geo.group_out() * plane];
                    let w_t = MatRef::from_row_major_slice(w, geo.group_out(), patch).transpose();
                    let grad = MatRef::from_row_major_slice(grad, geo.group_out(), plane);
                    if geo.is_pointwise() {
                        let dst = MatMut::from_row_major_slice_mut(dx, patch, plane);
                        matmul(dst, Accum::Replace, w_t, grad, 1.0, Par::Seq);
                    } else {
                        let dst = MatMut::from_row_major_slice_mut(col, patch, plane);
                        matmul(dst, Accum::Replace, w_t, grad, 1.0, Par::Seq);
                        vectorised(Col2ImAdd { geo, col, dx });
                    }
                }
            })
        });
    dx
}

/// How many partial weight gradients a batch is split into (at most; each part sums its images
/// in order, then the parts are added in order).
const WEIGHT_GRAD_PARTS: usize = 8;

/// The gradient with respect to the weight: `x, d out -> d W [C_out, C_in / g, KH, KW]`, summed
/// over the batch.
pub fn weight_grad(geo: &ConvGeometry, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let len = geo.weight_shape().iter().product();
    if geo.batch == 0 || geo.out_plane() == 0 {
        return vec![0.0; len];
    }
    if geo.is_depthwise() {
        return depthwise_weight_grad(geo, x, grad);
    }
    let (patch, plane) = (geo.patch_len(), geo.out_plane());
    let col_len = if geo.is_pointwise() { 0 } else { patch * plane };
    // A fixed split of the batch and a fixed order of summation, whatever the thread count and
    // scheduling: the same inputs always give the same bits.
    let images_per_part = geo.batch.div_ceil(WEIGHT_GRAD_PARTS);
    let image_x = geo.in_channels * geo.in_plane();
    let image_grad = geo.out_channels * plane;
    let parts: Vec<Vec<f32>> = x
        .par_chunks(images_per_part * image_x)
        .zip(grad.par_chunks(images_per_part * image_grad))
        .map(|(x, grad)| {
            let mut dw = vec![0.0; len];
            with_scratch(col_len, |col| {
                for (x, grad) in x.chunks_exact(image_x).zip(grad.chunks_exact(image_grad)) {
                    for g in 0..geo.groups {
                        let x = &x[g * geo.group_in() * geo.in_plane()..]
                            [..geo.group_in() * geo.in_plane()];
                        let col: &[f32] = if geo.is_pointwise() {
                            x
                        } else {
                            im2col(geo, x, col);
                            col
                        };
                        let grad = &grad[g * geo.group_out() * plane..][..geo.group_out() * plane];
                        let dw = &mut dw[g * geo.group_out() * patch..][..geo.group_out() * patch];
                        matmul(
                            MatMut::from_row_major_slice_mut(dw, geo.group_out(), patch),
                            Accum::Add,
                            MatRef::from_row_major_slice(grad, geo.group_out(), plane),
                            MatRef::from_row_major_slice(col, patch, plane).transpose(),
                            1.0,
                            Par::Seq,
                        );
                    }
                }
            });
            dw
        })
        .collect();
    parts
        .into_iter()
        .reduce(add_into)
        .unwrap_or_else(|| vec![0.0; len])
}

/// The gradient with respect to the bias: `d out [N, C_out, P] -> d b [C_out]`, summed over
/// images and pixels.
pub fn bias_grad([batch, channels, plane]: [usize; 3], grad: &[f32]) -> Vec<f32> {
    (0..channels)
        .into_par_iter()
        .map(|c| {
            (0..batch)
                .map(|n| sum(&grad[(n * channels + c) * plane..][..plane]))
                .sum()
        })
        .collect()
}

/// `dst[i] += a · src[i · stride]` over `dst`.
#[inline(always)]
fn axpy_strided<S: Simd>(simd: S, dst: &mut [f32], a: f32, src: &[f32], stride: usize) {
    if stride == 1 {
        axpy(simd, dst, a, src);
    } else {
        let src = src.iter().step_by(stride);
        dst.iter_mut().zip(src).for_each(|(d, s)| *d += a * s);
    }
}

thread_local! {
    /// Each thread's im2col buffer, kept between calls: a fresh multi-megabyte allocation per
    /// image costs page faults that rival the matrix product.
    static SCRATCH: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` on this thread's scratch buffer of `len` values (contents unspecified).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    // Taken out and put back, so a nested call gets a buffer of its own instead of a panic.
    let mut buffer = SCRATCH.take();
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    let result = f(&mut buffer[..len]);
    SCRATCH.set(buffer);
    result
}

fn add_into(mut a: Vec<f32>, b: Vec<f32>) -> Vec<f32> {
    a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
    a
}

/// Writes one group of one image, `x: [C_in / g, H, W]`, as the matrix `[K, P]` whose column
/// `p` holds the input patch under output pixel `p` (zeros where it overhangs the border).
fn im2col(geo: &ConvGeometry, x: &[f32], col: &mut [f32]) {
    let [kh, kw] = geo.kernel;
    let [out_h, out_w] = geo.out_size;
    let width = geo.in_size[1];
    let rows = col.chunks_exact_mut(out_h * out_w);
    for (row, col) in rows.enumerate() {
        let (c, ki, kj) = (row / (kh * kw), row / kw % kh, row % kw);
        let plane = &x[c * geo.in_plane()..][..geo.in_plane()];
        let (columns, first_ix) = geo.columns(kj);
        for (oy, out_row) in col.chunks_exact_mut(out_w).enumerate() {
            let Some(iy) = geo.input_row(oy, ki) else {
                out_row.fill(0.0);
                continue;
            };
            let in_row = &plane[iy * width..][..width];
            out_row[..columns.start].fill(0.0);
            out_row[columns.end..].fill(0.0);
            let dst = &mut out_row[columns.clone()];
            if geo.stride[1] == 1 {
                dst.copy_from_slice(&in_row[first_ix..][..dst.len()]);
            } else {
                let src = in_row[first_ix..].iter().step_by(geo.stride[1]);
                dst.iter_mut().zip(src).for_each(|(d, s)| *d = *s);
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each column of `col: [K, P]` back onto the pixels it was read
/// from in `dx: [C_in / g, H, W]`.
struct Col2ImAdd<'a> {
    geo: &'a ConvGeometry,
    col: &'a [f32],
    dx: &'a mut [f32],
}

impl VectorLoop for Col2ImAdd<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, simd: S) {
        let Self { geo, col, dx } = self;
        let [kh, kw] = geo.kernel;
        let [out_h, out_w] = geo.out_size;
        let (width, in_plane) = (geo.in_size[1], geo.in_plane());
        for (row, col) in col.chunks_exact(out_h * out_w).enumerate() {
            let (c, ki, kj) = (row / (kh * kw), row / kw % kh, row % kw);
            let plane = &mut dx[c * in_plane..][..in_plane];
            let (columns, first_ix) = geo.columns(kj);
            for (oy, src_row) in col.chunks_exact(out_w).enumerate() {
                let Some(iy) = geo.input_row(oy, ki) else {
                    continue;
                };
                let in_row = &mut plane[iy * width..][..width];
                let src = &src_row[columns.clone()];
                if geo.stride[1] == 1 {
                    axpy(simd, &mut in_row[first_ix..], 1.0, src);
                } else {
                    let dst = in_row[first_ix..].iter_mut().step_by(geo.stride[1]);
                    dst.zip(src).for_each(|(d, s)| *d += *s);
                }
            }
        }
    }
}

/// Depthwise forward of one output plane: `out += Σ taps · shifted input plane`.
struct DepthwisePlane<'a> {
    geo: &'a ConvGeometry,
    plane: &'a [f32],
    taps: &'a [f32],
    out: &'a mut [f32],
}

impl VectorLoop for DepthwisePlane<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, simd: S) {
        let Self {
            geo,
            plane,
            taps,
            out,
        } = self;
        let (width, out_w) = (geo.in_size[1], geo.out_size[1]);
        for t in geo.row_taps() {
            let src = &plane[t.iy * width + t.first_ix..(t.iy + 1) * width];
            let dst = &mut out[t.oy * out_w..][..out_w][t.columns];
            axpy_strided(simd, dst, taps[t.tap], src, geo.stride[1]);
        }
    }
}

/// Depthwise input gradient of one input plane from one of its output planes' gradients:
/// `dx += Σ taps · shifted grad` (the adjoint of [`DepthwisePlane`]).
struct DepthwisePlaneGrad<'a> {
    geo: &'a ConvGeometry,
    grad: &'a [f32],
    taps: &'a [f32],
    dx: &'a mut [f32],
}

impl VectorLoop for DepthwisePlaneGrad<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, simd: S) {
        let Self {
            geo,
            grad,
            taps,
            dx,
        } = self;
        let (width, out_w) = (geo.in_size[1], geo.out_size[1]);
        for t in geo.row_taps() {
            let src = &grad[t.oy * out_w..][..out_w][t.columns];
            let dst = &mut dx[t.iy * width + t.first_ix..(t.iy + 1) * width];
            if geo.stride[1] == 1 {
                axpy(simd, dst, taps[t.tap], src);
            } else {
                let dst = dst.iter_mut().step_by(geo.stride[1]);
                dst.zip(src).for_each(|(d, s)| *d += taps[t.tap] * s);
            }
        }
    }
}

/// Depthwise weight gradient of one output plane: `d taps += Σ grad · shifted input plane`.
struct DepthwiseTapsGrad<'a> {
    geo: &'a ConvGeometry,
    plane: &'a [f32],
    grad: &'a [f32],
    dtaps: &'a mut [f32],
}

impl VectorLoop for DepthwiseTapsGrad<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, _simd: S) {
        let Self {
            geo,
            plane,
            grad,
            dtaps,
        } = self;
        let (width, out_w) = (geo.in_size[1], geo.out_size[1]);
        for t in geo.row_taps() {
            let grad = &grad[t.oy * out_w..][..out_w][t.columns];
            let xs = &plane[t.iy * width + t.first_ix..(t.iy + 1) * width];
            dtaps[t.tap] += if geo.stride[1] == 1 {
                dot(grad, &xs[..grad.len()])
            } else {
                let xs = xs.iter().step_by(geo.stride[1]);
                grad.iter().zip(xs).map(|(g, x)| g * x).sum()
            };
        }
    }
}

/// Depthwise forward: each output plane `co` reads input plane `co / multiplier`.
fn depthwise_forward(geo: &ConvGeometry, x: &[f32], weight: &[f32], out: &mut [f32]) {
    let taps = geo.kernel[0] * geo.kernel[1];
    let multiplier = geo.out_channels / geo.in_channels;
    out.par_chunks_mut(geo.out_plane())
        .enumerate()
        .for_each(|(i, out)| {
            let (n, co) = (i / geo.out_channels, i % geo.out_channels);
            let ci = n * geo.in_channels + co / multiplier;
            vectorised(DepthwisePlane {
                geo,
                plane: &x[ci * geo.in_plane()..][..geo.in_plane()],
                taps: &weight[co * taps..][..taps],
                out,
            });
        });
}

/// Depthwise input gradient: input plane `ci` gathers from its `multiplier` output planes.
fn depthwise_input_grad(geo: &ConvGeometry, weight: &[f32], grad: &[f32], dx: &mut [f32]) {
    let taps = geo.kernel[0] * geo.kernel[1];
    let multiplier = geo.out_channels / geo.in_channels;
    dx.par_chunks_mut(geo.in_plane())
        .enumerate()
        .for_each(|(i, dx)| {
            let (n, ci) = (i / geo.in_channels, i % geo.in_channels);
            for co in ci * multiplier..(ci + 1) * multiplier {
                let plane = (n * geo.out_channels + co) * geo.out_plane();
                vectorised(DepthwisePlaneGrad {
                    geo,
                    grad: &grad[plane..][..geo.out_plane()],
                    taps: &weight[co * taps..][..taps],
                    dx: &mut *dx,
                });
            }
        });
}

/// Depthwise weight gradient: each output channel's taps, summed over images and pixels.
fn depthwise_weight_grad(geo: &ConvGeometry, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let taps = geo.kernel[0] * geo.kernel[1];
    let multiplier = geo.out_channels / geo.in_channels;
    let mut dw = vec![0.0; geo.out_channels * taps];
    dw.par_chunks_mut(taps).enumerate().for_each(|(co, dtaps)| {
        for n in 0..geo.batch {
            let ci = n * geo.in_channels + co / multiplier;
            let plane = (n * geo.out_channels + co) * geo.out_plane();
            vectorised(DepthwiseTapsGrad {
                geo,
                plane: &x[ci * geo.in_plane()..][..geo.in_plane()],
                grad: &grad[plane..][..geo.out_plane()],
                dtaps: &mut *dtaps,
            });
        }
    });
    dw
}
