//! Forward passes of small networks on the CPU without burn: channel-last layers for one
//! image at a time.
//!
//! burn-flex runs a network as one kernel per operation. For mien's 48×48 classifiers that
//! dispatch costs more than the arithmetic: mini-Xception is 5.5 M multiply-adds, yet takes
//! 1.3 ms at batch 1. These layers do the same arithmetic in a few hundred microseconds:
//!
//! - convolutions as im2col and a matrix product kept in vector registers, 4 pixels × 16
//!   output channels at a time (faer's blocked GEMM for products too large for that,
//!   [`matmul`]), with batch norm folded into the weights by the network's description
//!   ([`crate::graph`]);
//! - depthwise 3×3 convolutions and the other element-wise loops in vector registers,
//!   compiled for the processor's best instruction set and chosen at run time by `pulp`;
//! - maps stored channel-last ([`Map`]), so a pixel's channels are contiguous.
//!
//! Everything runs on the calling thread; callers parallelise over images.

use std::borrow::Cow;

use pulp::{Arch, Simd, WithSimd};

/// A feature map of one image, channel-last: value `(y, x, c)` is at
/// `data[(y · width + x) · channels + c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
    /// `height · width · channels` values.
    pub data: Vec<f32>,
}

impl Map {
    /// A map over `data`.
    ///
    /// # Panics
    /// When `data` does not hold `height · width · channels` values.
    pub fn new(height: usize, width: usize, channels: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            height * width * channels,
            "a {height}×{width}×{channels} map needs that many values"
        );
        Self {
            height,
            width,
            channels,
            data,
        }
    }

    /// A map from one image in channel-first order (`[C, H, W]`, as burn tensors hold it).
    ///
    /// # Panics
    /// When `chw` does not hold `channels · height · width` values.
    pub fn from_chw(channels: usize, height: usize, width: usize, chw: &[f32]) -> Self {
        assert_eq!(chw.len(), channels * height * width, "CHW image size");
        let plane = height * width;
        let data = (0..plane * channels)
            .map(|i| chw[(i % channels) * plane + i / channels])
            .collect();
        Self::new(height, width, channels, data)
    }

    /// Values of pixel `(y, x)`.
    fn pixel(&self, y: usize, x: usize) -> &[f32] {
        let start = (y * self.width + x) * self.channels;
        &self.data[start..start + self.channels]
    }

    /// `max(0, v)` for every value.
    pub fn relu(mut self) -> Self {
        self.data.iter_mut().for_each(|v| *v = v.max(0.0));
        self
    }

    /// The element-wise sum with a map of the same shape (a residual connection).
    ///
    /// # Panics
    /// When the shapes differ.
    pub fn plus(mut self, other: &Map) -> Self {
        assert_eq!(
            (self.height, self.width, self.channels),
            (other.height, other.width, other.channels),
            "residual shapes"
        );
        self.data
            .iter_mut()
            .zip(&other.data)
            .for_each(|(a, b)| *a += b);
        self
    }

    /// Max pooling with a square `kernel` and `stride`, over `padding` cells of −∞ on every
    /// side that never win (as burn and PyTorch pad max pooling).
    ///
    /// # Panics
    /// When the padded map is smaller than the kernel, `stride` is 0, or `padding` exceeds
    /// half the kernel (a window could then hold only padding).
    pub fn max_pool(&self, kernel: usize, stride: usize, padding: usize) -> Map {
        assert!(stride > 0 && 2 * padding <= kernel, "max pool settings");
        check_window(self, kernel, padding);
        let out_h = output_side(self.height, kernel, stride, padding);
        let out_w = output_side(self.width, kernel, stride, padding);
        let c = self.channels;
        struct Pool<'a> {
            map: &'a Map,
            out_w: usize,
            window: [usize; 3],
            out: Vec<f32>,
        }
        impl WithSimd for Pool<'_> {
            type Output = Vec<f32>;

            #[inline(always)]
            fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
                let Self {
                    map,
                    out_w,
                    window: [kernel, stride, padding],
                    mut out,
                } = self;
                for (o, out) in out.chunks_exact_mut(map.channels).enumerate() {
                    let (oy, ox) = (o / out_w, o % out_w);
                    for iy in taps(oy, kernel, stride, padding, map.height) {
                        for ix in taps(ox, kernel, stride, padding, map.width) {
                            let (m_v, m_t) = S::as_mut_simd_f32s(out);
                            let (x_v, x_t) = S::as_simd_f32s(map.pixel(iy, ix));
                            for (m, &x) in m_v.iter_mut().zip(x_v) {
                                *m = simd.max_f32s(*m, x);
                            }
                            for (m, &x) in m_t.iter_mut().zip(x_t) {
                                *m = m.max(x);
                            }
                        }
                    }
                }
                out
            }
        }
        let data = vector_arch().dispatch(Pool {
            map: self,
            out_w,
            window: [kernel, stride, padding],
            out: vec![f32::NEG_INFINITY; out_h * out_w * c],
        });
        Map::new(out_h, out_w, c, data)
    }

    /// The mean of each channel over all pixels (global average pooling); zeros for an
    /// empty map.
    pub fn global_average(&self) -> Vec<f32> {
        let mut sums = vec![0.0; self.channels];
        for pixel in self.data.chunks_exact(self.channels.max(1)) {
            sums.iter_mut().zip(pixel).for_each(|(s, &v)| *s += v);
        }
        let pixels = (self.height * self.width).max(1) as f32;
        sums.iter_mut().for_each(|s| *s /= pixels);
        sums
    }
}

/// Panics unless a `kernel` window fits the map padded by `padding` and the map has
/// channels.
fn check_window(map: &Map, kernel: usize, padding: usize) {
    assert!(
        map.channels > 0 && map.height.min(map.width) + 2 * padding >= kernel,
        "a {kernel}×{kernel} window does not fit a {}×{}×{} map padded by {padding}",
        map.height,
        map.width,
        map.channels
    );
}

/// Output length of a `side`-long axis under a window of `kernel` moved by `stride` over
/// `padding` extra cells at each end.
fn output_side(side: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    (side + 2 * padding).saturating_sub(kernel) / stride + 1
}

/// The input indices, inside `0..side`, that output index `o`'s window covers.
fn taps(
    o: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    side: usize,
) -> impl Iterator<Item = usize> {
    let start = o * stride;
    (start..start + kernel).filter_map(move |i| i.checked_sub(padding).filter(|&i| i < side))
}

/// A square 2-D convolution with bias (zero when the source has none), stride and zero
/// padding, over channel-last maps.
#[derive(Debug, Clone)]
pub struct Conv2d {
    kernel: usize,
    stride: usize,
    padding: usize,
    channels_in: usize,
    channels_out: usize,
    /// `[kernel · kernel · channels_in][channels_out]`: tap `(ky, kx, ci)`, then output
    /// channel.
    weights: Vec<f32>,
    /// `[channels_out]`.
    bias: Vec<f32>,
}

impl Conv2d {
    /// A convolution from weights in burn's and PyTorch's `[out][in][ky][kx]` order.
    ///
    /// # Panics
    /// When `weights` or `bias` do not have the sizes the other arguments give, a size is 0,
    /// or `stride` is 0.
    pub fn from_oihw(
        weights: &[f32],
        channels_out: usize,
        channels_in: usize,
        kernel: usize,
        bias: Option<&[f32]>,
        stride: usize,
        padding: usize,
    ) -> Self {
        let taps = kernel * kernel * channels_in;
        assert!(
            taps > 0 && channels_out > 0 && stride > 0,
            "empty convolution or zero stride"
        );
        assert_eq!(weights.len(), channels_out * taps, "convolution weights");
        let bias = bias.map_or_else(|| vec![0.0; channels_out], <[f32]>::to_vec);
        assert_eq!(bias.len(), channels_out, "convolution bias");
        // Source index of (o, ci, ky, kx) is ((o · C_in + ci) · k + ky) · k + kx; target
        // row is (ky · k + kx) · C_in + ci.
        let mut reordered = vec![0.0; weights.len()];
        for (i, &w) in weights.iter().enumerate() {
            let (o, rest) = (i / taps, i % taps);
            let (ci, tap) = (rest / (kernel * kernel), rest % (kernel * kernel));
            reordered[(tap * channels_in + ci) * channels_out + o] = w;
        }
        Self {
            kernel,
            stride,
            padding,
            channels_in,
            channels_out,
            weights: reordered,
            bias,
        }
    }

    /// `[H, W, C_in] -> [H', W', C_out]` with `H' = (H + 2·padding − kernel) / stride + 1`.
    ///
    /// # Panics
    /// When the input does not have `C_in` channels or is smaller than the kernel.
    pub fn forward(&self, input: &Map) -> Map {
        assert_eq!(
            input.channels, self.channels_in,
            "convolution input channels"
        );
        check_window(input, self.kernel, self.padding);
        let out_h = output_side(input.height, self.kernel, self.stride, self.padding);
        let out_w = output_side(input.width, self.kernel, self.stride, self.padding);
        let patches = if self.kernel == 1 && self.stride == 1 && self.padding == 0 {
            Cow::Borrowed(input.data.as_slice())
        } else {
            Cow::Owned(self.im2col(input, out_h, out_w))
        };
        Map::new(
            out_h,
            out_w,
            self.channels_out,
            matmul(&patches, &self.weights, &self.bias),
        )
    }

    /// `[out_h · out_w][kernel · kernel · C_in]`: each output pixel's receptive field, zeros
    /// in the padding.
    fn im2col(&self, input: &Map, out_h: usize, out_w: usize) -> Vec<f32> {
        let (k, c) = (self.kernel, self.channels_in);
        let mut patches = vec![0.0; out_h * out_w * k * k * c];
        for (o, patch) in patches.chunks_exact_mut(k * k * c).enumerate() {
            let (oy, ox) = (o / out_w, o % out_w);
            let x0 = ox * self.stride;
            // Inside the image, the k pixels of a kernel row are contiguous.
            let whole_rows = x0 >= self.padding && x0 + k <= input.width + self.padding;
            for (ky, iy) in (0..k).map(|ky| (ky, (oy * self.stride + ky).checked_sub(self.padding)))
            {
                let Some(iy) = iy.filter(|&y| y < input.height) else {
                    continue;
                };
                let row = &mut patch[ky * k * c..(ky + 1) * k * c];
                if whole_rows {
                    let start = (iy * input.width + x0 - self.padding) * c;
                    row.copy_from_slice(&input.data[start..start + k * c]);
                    continue;
                }
                for ix in taps(ox, k, self.stride, self.padding, input.width) {
                    let kx = ix + self.padding - x0;
                    row[kx * c..(kx + 1) * c].copy_from_slice(input.pixel(iy, ix));
                }
            }
        }
        patches
    }
}

/// `out[p][o] = bias[o] + Σ_r rows[p][r] · weights[r][o]`: the product of row-major
/// `[P][R]` rows and `[R][O]` weights plus a bias per output column, in vector registers (the
/// kernel behind [`Conv2d`]).
///
/// # Panics
/// When `weights` is not a whole number of `bias.len()`-wide rows, or `rows` not a whole
/// number of rows of that many values.
pub fn matmul(rows: &[f32], weights: &[f32], bias: &[f32]) -> Vec<f32> {
    let outputs = bias.len();
    assert!(
        outputs > 0 && weights.len().is_multiple_of(outputs),
        "matmul weights"
    );
    let depth = weights.len() / outputs;
    assert!(depth > 0 && rows.len().is_multiple_of(depth), "matmul rows");
    let pixels = rows.len() / depth;
    let blocked = weights.len() > L1_WEIGHTS
        && outputs >= 16
        && (pixels >= MANY_ROWS
            || weights.len() > L2_WEIGHTS
            || (depth >= DEEP && pixels >= MANY_ROWS / 2));
    if !blocked {
        return vector_arch().dispatch(MatMul {
            patches: rows,
            weights,
            bias,
        });
    }
    // Weights beyond the L1 cache, read again for every 4 rows, bound the register kernel;
    // over many rows, faer's GEMM repays packing and blocking the operands for the caches.
    let mut out = bias.repeat(pixels);
    faer::linalg::matmul::matmul(
        faer::MatMut::from_row_major_slice_mut(&mut out, pixels, outputs),
        faer::Accum::Add,
        faer::MatRef::from_row_major_slice(rows, pixels, depth),
        faer::MatRef::from_row_major_slice(weights, depth, outputs),
        1.0,
        faer::Par::Seq,
    );
    out
}

/// The most weights (32 KB) that [`matmul`]'s register kernel, which reads them all for every
/// 4 rows, runs from the L1 cache. Larger products go to faer's blocked GEMM when they have
/// [`MANY_ROWS`] rows or more, weights beyond the L2 cache ([`L2_WEIGHTS`]), or [`DEEP`]
/// rows and half as many of them. Measured on
/// every backbone (`benches/native.rs`): a Transformer's 65 tokens or a small 1×1
/// convolution do not repay faer's packing; ResNet's deep 6×6 stages do.
const L1_WEIGHTS: usize = 8 * 1024;
/// See [`L1_WEIGHTS`].
const MANY_ROWS: usize = 256;
/// Weights (1 MB) beyond which the register kernel streams them from memory; see
/// [`L1_WEIGHTS`].
const L2_WEIGHTS: usize = 256 * 1024;
/// Depth from which half of [`MANY_ROWS`] repays faer's packing; see [`L1_WEIGHTS`].
const DEEP: usize = 512;

/// `out[p][o] = bias[o] + Σ_r patches[p][r] · weights[r][o]`: a convolution's product of
/// its im2col patches `[P][R]` and weights `[R][O]`, both row-major as they are.
///
/// A general GEMM re-packs both operands on every call, which cost as much as its arithmetic
/// at these sizes (the weights never change; a 1×1 convolution's input is already in
/// layout). This keeps 4 pixels × 2 vectors of output channels in registers (8 pixels × 1
/// vector for the channels left over) and reads the operands where they lie: each weight
/// vector serves 4 pixels, each input value 2 vectors.
struct MatMul<'a> {
    patches: &'a [f32],
    weights: &'a [f32],
    bias: &'a [f32],
}

impl WithSimd for MatMul<'_> {
    type Output = Vec<f32>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
        let Self {
            patches,
            weights,
            bias,
        } = self;
        let outputs = bias.len();
        let pixels = patches.len() / (weights.len() / outputs);
        let mut out = bias.repeat(pixels);
        let lanes = size_of::<S::f32s>() / size_of::<f32>();
        // Output channels in blocks of two vectors, then one, then one at a time.
        let pairs = outputs - outputs % (2 * lanes);
        let singles = outputs - outputs % lanes;
        for first in (0..pairs).step_by(2 * lanes) {
            product_columns::<S, 4, 2>(simd, patches, weights, pixels, first, &mut out);
        }
        if singles > pairs {
            product_columns::<S, 8, 1>(simd, patches, weights, pixels, pairs, &mut out);
        }
        if singles < outputs {
            let rows = patches.len() / pixels;
            for (patch, out) in patches
                .chunks_exact(rows)
                .zip(out.chunks_exact_mut(outputs))
            {
                for (&v, weight_row) in patch.iter().zip(weights.chunks_exact(outputs)) {
                    fma_sv(simd, &mut out[singles..], v, &weight_row[singles..]);
                }
            }
        }
        out
    }
}

/// Output channels `first..first + V · lanes` of every pixel of a [`MatMul`], `N` pixels
/// at a time (then one at a time for the last few).
#[inline(always)]
fn product_columns<S: Simd, const N: usize, const V: usize>(
    simd: S,
    patches: &[f32],
    weights: &[f32],
    pixels: usize,
    first: usize,
    out: &mut [f32],
) {
    let outputs = out.len() / pixels;
    let rows = patches.len() / pixels;
    let tiles = patches
        .chunks_exact(N * rows)
        .zip(out.chunks_exact_mut(N * outputs));
    for (patch, out) in tiles {
        product_tile::<S, N, V>(simd, patch, weights, first, out);
    }
    let done = pixels - pixels % N;
    let rest = patches[done * rows..]
        .chunks_exact(rows)
        .zip(out[done * outputs..].chunks_exact_mut(outputs));
    for (patch, out) in rest {
        product_tile::<S, 1, V>(simd, patch, weights, first, out);
    }
}

/// One register tile of [`MatMul`]: output channels `first..first + V · lanes` of `N`
/// pixels, whose patches (`N` rows of `R`) and outputs (`N` rows of `O`) are given.
#[inline(always)]
fn product_tile<S: Simd, const N: usize, const V: usize>(
    simd: S,
    patches: &[f32],
    weights: &[f32],
    first: usize,
    out: &mut [f32],
) {
    let outputs = out.len() / N;
    let rows = patches.len() / N;
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let load = |values: &[f32]| -> [S::f32s; V] {
        let (vectors, _) = S::as_simd_f32s(&values[..V * lanes]);
        std::array::from_fn(|v| vectors[v])
    };
    let mut sums: [[S::f32s; V]; N] = std::array::from_fn(|p| load(&out[p * outputs + first..]));
    let patch_rows: [&[f32]; N] = std::array::from_fn(|p| &patches[p * rows..][..rows]);
    for (r, weight_row) in weights.chunks_exact(outputs).enumerate() {
        let w = load(&weight_row[first..]);
        for (sum, patch) in sums.iter_mut().zip(&patch_rows) {
            let v = simd.splat_f32s(patch[r]);
            for (s, &w) in sum.iter_mut().zip(&w) {
                *s = simd.mul_add_e_f32s(v, w, *s);
            }
        }
    }
    for (p, sum) in sums.iter().enumerate() {
        let (vectors, _) = S::as_mut_simd_f32s(&mut out[p * outputs + first..][..V * lanes]);
        vectors.copy_from_slice(sum);
    }
}

/// A depthwise 3×3 convolution (one filter per channel), stride 1, zero padding 1 ("same"),
/// without bias.
#[derive(Debug, Clone)]
pub struct Depthwise3x3 {
    channels: usize,
    /// `[9][channels]`: tap `ky · 3 + kx`, then channel.
    weights: Vec<f32>,
}

impl Depthwise3x3 {
    /// A depthwise convolution from weights in burn's `[channels][1][3][3]` order.
    ///
    /// # Panics
    /// When `weights` does not hold `9 · channels` values.
    pub fn from_oihw(weights: &[f32], channels: usize) -> Self {
        assert_eq!(weights.len(), 9 * channels, "depthwise weights");
        let weights = (0..9 * channels)
            .map(|i| weights[(i % channels) * 9 + i / channels])
            .collect();
        Self { channels, weights }
    }

    /// `[H, W, C] -> [H, W, C]`.
    ///
    /// # Panics
    /// When the input does not have `C` channels, or has none.
    pub fn forward(&self, input: &Map) -> Map {
        assert_eq!(input.channels, self.channels, "depthwise input channels");
        check_window(input, 3, 1);
        struct Pass<'a> {
            layer: &'a Depthwise3x3,
            input: &'a Map,
        }
        impl WithSimd for Pass<'_> {
            type Output = Vec<f32>;

            #[inline(always)]
            fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
                let Self { layer, input } = self;
                let (h, c) = (input.height, input.channels);
                let row_len = input.width * c;
                // Each tap's weights repeated along a row, so that one tap over a whole row
                // is one long multiply-add: output pixel x reads input pixel x + kx − 1.
                let tiled = layer
                    .weights
                    .chunks_exact(c)
                    .map(|tap| tap.repeat(input.width))
                    .collect::<Vec<_>>()
                    .concat();
                let mut out = vec![0.0; h * row_len];
                for (oy, out_row) in out.chunks_exact_mut(row_len).enumerate() {
                    for iy in taps(oy, 3, 1, 1, h) {
                        let in_row = &input.data[iy * row_len..(iy + 1) * row_len];
                        let ky = iy + 1 - oy;
                        let tap = |kx: usize| &tiled[(ky * 3 + kx) * row_len..][..row_len];
                        let shifted = row_len.saturating_sub(c);
                        fma_vv(simd, &mut out_row[c.min(row_len)..], in_row, tap(0));
                        fma_vv(simd, out_row, in_row, tap(1));
                        fma_vv(
                            simd,
                            &mut out_row[..shifted],
                            &in_row[c.min(row_len)..],
                            tap(2),
                        );
                    }
                }
                out
            }
        }
        let data = vector_arch().dispatch(Pass { layer: self, input });
        Map::new(input.height, input.width, self.channels, data)
    }
}

/// Batch norm at inference, `(x − mean) / √(var + ε) · γ + β`, as a per-channel
/// `(scale, shift)`, folded into the convolution before it
/// ([`crate::graph::layers::conv`]).
pub fn batch_norm_affine(
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = gamma
        .iter()
        .zip(var)
        .map(|(&g, &v)| (f64::from(g) / (f64::from(v) + epsilon).sqrt()) as f32)
        .collect();
    let shift = beta
        .iter()
        .zip(mean)
        .zip(&scale)
        .map(|((&b, &m), &s)| b - m * s)
        .collect();
    (scale, shift)
}

/// The instruction set mien's vector loops run with: AVX2 + FMA where the processor has it
/// (also on AVX-512 processors: the loops are written and measured for 8-lane vectors), else
/// pulp's best (baseline x86-64, NEON on Arm).
///
/// pulp's `x86-v4` feature is on for BlazeFace's kernels
/// (`mien_detect::blazeface`), which makes `Arch::new()` pick AVX-512's 16-lane vectors;
/// this keeps every other loop on the vectors it was tuned for.
#[inline]
pub fn vector_arch() -> Arch {
    #[cfg(target_arch = "x86_64")]
    if let Some(v3) = pulp::x86::V3::try_new() {
        return Arch::V3(v3);
    }
    Arch::new()
}

/// `acc[i] += a[i] · b[i]` over the shortest of the three, in vector registers.
#[doc(hidden)]
#[inline(always)]
pub fn fma_vv<S: Simd>(simd: S, acc: &mut [f32], a: &[f32], b: &[f32]) {
    let n = acc.len().min(a.len()).min(b.len());
    let (acc, a, b) = (&mut acc[..n], &a[..n], &b[..n]);
    let (acc_v, acc_t) = S::as_mut_simd_f32s(acc);
    let (a_v, a_t) = S::as_simd_f32s(a);
    let (b_v, b_t) = S::as_simd_f32s(b);
    for ((x, &p), &q) in acc_v.iter_mut().zip(a_v).zip(b_v) {
        *x = simd.mul_add_e_f32s(p, q, *x);
    }
    for ((x, &p), &q) in acc_t.iter_mut().zip(a_t).zip(b_t) {
        *x += p * q;
    }
}

/// `acc[i] += v · b[i]` over the shorter of the two, in vector registers.
#[doc(hidden)]
#[inline(always)]
pub fn fma_sv<S: Simd>(simd: S, acc: &mut [f32], v: f32, b: &[f32]) {
    let n = acc.len().min(b.len());
    let (acc, b) = (&mut acc[..n], &b[..n]);
    let (acc_v, acc_t) = S::as_mut_simd_f32s(acc);
    let (b_v, b_t) = S::as_simd_f32s(b);
    let splat = simd.splat_f32s(v);
    for (x, &q) in acc_v.iter_mut().zip(b_v) {
        *x = simd.mul_add_e_f32s(splat, q, *x);
    }
    for (x, &q) in acc_t.iter_mut().zip(b_t) {
        *x += v * q;
    }
}

#[cfg(test)]
mod tests;
