//! BlazeFace's forward pass written for the CPU: channel-last (NHWC) feature maps, each
//! block's depthwise, pointwise, shortcut and ReLU fused per output row, rows spread over
//! threads with rayon, and every row compiled for the best vector instructions the processor
//! has (AVX2 + FMA, with 32 registers where AVX-512 is there, or baseline x86-64; NEON on
//! Arm), chosen at run time through `pulp` ([`Isa`]).
//!
//! burn-flex runs the same network as ~90 separate small operations (17.7 ms on a 640×480
//! photo on 2 cores); fusing them here keeps each row's data in cache. The result equals
//! [`BlazeFaceNet::forward`] up to float rounding (tested).

use mien_core::native::{fma_sv, fma_vv, vector_arch};
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use super::net::{BlazeFaceNet, NetWeights};
use super::{ANCHORS, BOX_VALUES, INPUT_SIZE, STEM_SIZE};
use crate::DetectError;

/// Channels of the stem's output.
const STEM_CHANNELS: usize = 24;
/// Values of one stem patch per output channel: 3 channels × 5 × 5.
const STEM_TAPS: usize = 75;

/// The vector instructions a forward pass runs its rows with.
#[derive(Debug, Clone, Copy)]
enum Isa {
    /// [`vector_arch`]'s choice, with 16 vector registers.
    Pulp(Arch),
    /// AVX2's 8-lane vectors compiled with AVX-512 enabled, which gives them 32 registers:
    /// room for the kernels to keep the sums of 4–8 pixels in registers at once.
    #[cfg(target_arch = "x86_64")]
    Avx2With32Registers(pulp::x86::V4),
}

impl Isa {
    /// The best this processor has.
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(v4) = pulp::x86::V4::try_new() {
            return Self::Avx2With32Registers(v4);
        }
        Self::Pulp(vector_arch())
    }

    /// Vector registers the kernels may plan for.
    fn registers(self) -> usize {
        match self {
            Self::Pulp(_) => 16,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2With32Registers(_) => 32,
        }
    }

    /// Runs `op` compiled for these instructions.
    #[inline(always)]
    fn run<Op: WithSimd>(self, op: Op) -> Op::Output {
        match self {
            Self::Pulp(arch) => arch.dispatch(op),
            #[cfg(target_arch = "x86_64")]
            Self::Avx2With32Registers(v4) => v4.vectorize(With256BitVectors { v3: *v4, op }),
        }
    }
}

/// `op` on AVX2's vectors, called inside a function compiled with AVX-512 enabled.
#[cfg(target_arch = "x86_64")]
struct With256BitVectors<Op> {
    v3: pulp::x86::V3,
    op: Op,
}

#[cfg(target_arch = "x86_64")]
impl<Op: WithSimd> pulp::NullaryFnOnce for With256BitVectors<Op> {
    type Output = Op::Output;

    #[inline(always)]
    fn call(self) -> Op::Output {
        self.op.with_simd(self.v3)
    }
}

/// One residual block, weights laid out for channel-last maps.
#[derive(Debug, Clone)]
struct Block {
    channels_in: usize,
    channels_out: usize,
    stride: usize,
    residual: bool,
    /// `[9][channels_in]`: tap `ky·3 + kx`, then channel.
    depthwise: Vec<f32>,
    /// `[channels_in][channels_out]`.
    pointwise: Vec<f32>,
    /// `[channels_out]`.
    bias: Vec<f32>,
}

impl Block {
    /// The input row or column that tap `k` (0..3) of output row or column `o` reads, on a
    /// `side`-long axis; `None` in the padding (stride 1 pads both ends, stride 2 only the
    /// far end, as TensorFlow's "same").
    fn tap_input(&self, o: usize, k: usize, side: usize) -> Option<usize> {
        (self.stride * o + k)
            .checked_sub(2 - self.stride)
            .filter(|&i| i < side)
    }
}

/// A 1×1 convolution without activation (the anchor heads).
#[derive(Debug, Clone)]
struct Pointwise {
    channels_out: usize,
    /// `[96][channels_out]`.
    weight: Vec<f32>,
    bias: Vec<f32>,
}

/// BlazeFace's weights in channel-last layouts, and the CPU forward pass over them.
#[derive(Clone)]
pub struct CpuBlazeFace {
    /// `[75][24]`: patch value `c·25 + ky·5 + kx`, then output channel.
    stem: Vec<f32>,
    stem_bias: Vec<f32>,
    blocks: Vec<Block>,
    last_block: Block,
    heads16: [Pointwise; 2],
    heads8: [Pointwise; 2],
}

impl std::fmt::Debug for CpuBlazeFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuBlazeFace")
            .field("blocks", &(self.blocks.len() + 1))
            .finish_non_exhaustive()
    }
}

/// The 896 anchor logits and 896 × 16 regressors of one image.
pub type RawOutputs = (Vec<f32>, Vec<f32>);

impl CpuBlazeFace {
    /// The network's weights, rearranged.
    ///
    /// # Errors
    /// [`DetectError::Weights`] when the backend cannot return a weight tensor.
    pub fn from_net(net: &BlazeFaceNet) -> Result<Self, DetectError> {
        let weights = net.weights()?;
        let stem = transpose(&weights.stem.0, STEM_CHANNELS, STEM_TAPS);
        let block = |b: &super::net::BlockWeights| Block {
            channels_in: b.channels_in,
            channels_out: b.channels_out,
            stride: b.stride,
            residual: b.residual,
            depthwise: transpose(&b.depthwise, b.channels_in, 9),
            pointwise: transpose(&b.pointwise.0, b.channels_out, b.channels_in),
            bias: b.pointwise.1.clone(),
        };
        let head = |(weight, bias): &(Vec<f32>, Vec<f32>)| Pointwise {
            channels_out: bias.len(),
            weight: transpose(weight, bias.len(), weight.len() / bias.len()),
            bias: bias.clone(),
        };
        let NetWeights {
            stem: (_, stem_bias),
            blocks,
            last_block,
            head16,
            head8,
        } = &weights;
        Ok(Self {
            stem,
            stem_bias: stem_bias.clone(),
            blocks: blocks.iter().map(block).collect(),
            last_block: block(last_block),
            heads16: [head(&head16[0]), head(&head16[1])],
            heads8: [head(&head8[0]), head(&head8[1])],
        })
    }

    /// `input`: the letterboxed photo, `[256][256][3]` values in `[-1, 1]`
    /// ([`super::letterbox_nhwc`]) → 896 logits and 896 × 16 regressors, in the order of
    /// [`BlazeFaceNet::forward`].
    ///
    /// # Panics
    /// When `input` does not hold 256 × 256 × 3 values.
    pub fn forward(&self, input: &[f32]) -> RawOutputs {
        self.forward_on(input, Isa::detect())
    }

    /// [`Self::forward`] with the vector instructions of `isa`.
    fn forward_on(&self, input: &[f32], isa: Isa) -> RawOutputs {
        assert_eq!(
            input.len(),
            INPUT_SIZE * INPUT_SIZE * 3,
            "BlazeFace input must be 256 × 256 × 3 values"
        );
        // Two buffers the size of the largest map, each block reading one and writing the other.
        let mut x = self.stem_forward(input, isa);
        let mut y = vec![0.0; x.len()];
        let mut side = STEM_SIZE;
        for block in &self.blocks {
            let out_len = (side / block.stride).pow(2) * block.channels_out;
            block_forward(
                block,
                &x[..side * side * block.channels_in],
                side,
                &mut y[..out_len],
                isa,
            );
            std::mem::swap(&mut x, &mut y);
            side /= block.stride;
        }
        let x = &x[..side * side * 96];
        // x: 16×16×96; the last block halves it for the coarse head.
        let coarse = &mut y[..side * side / 4 * 96];
        block_forward(&self.last_block, x, side, coarse, isa);
        let coarse = &*coarse;
        let mut logits = Vec::with_capacity(ANCHORS);
        let mut regressors = Vec::with_capacity(ANCHORS * BOX_VALUES);
        for (map, [scores, boxes]) in [(x, &self.heads16), (coarse, &self.heads8)] {
            logits.extend(pointwise_map(scores, map, isa));
            regressors.extend(pointwise_map(boxes, map, isa));
        }
        (logits, regressors)
    }

    /// The 5×5 stride-2 stem with its ReLU: 256×256×3 → 128×128×24.
    fn stem_forward(&self, input: &[f32], isa: Isa) -> Vec<f32> {
        let mut out = vec![0.0; STEM_SIZE * STEM_SIZE * STEM_CHANNELS];
        out.par_chunks_mut(STEM_SIZE * STEM_CHANNELS)
            .enumerate()
            .for_each(|(oy, row)| {
                isa.run(StemRow {
                    input,
                    taps: &self.stem,
                    bias: &self.stem_bias,
                    oy,
                    row,
                    registers: isa.registers(),
                });
            });
        out
    }
}

/// `[rows][cols]` → `[cols][rows]`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols * rows)
        .map(|i| values[(i % rows) * cols + i / rows])
        .collect()
}

/// One output row of the stem: input pixel `(2·oy + ky − 1, 2·ox + kx − 1)`, zero outside.
struct StemRow<'a> {
    input: &'a [f32],
    taps: &'a [f32],
    bias: &'a [f32],
    oy: usize,
    row: &'a mut [f32],
    /// Vector registers the kernel may plan for ([`Isa::registers`]).
    registers: usize,
}

impl WithSimd for StemRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        match STEM_CHANNELS / S::F32_LANES {
            _ if !STEM_CHANNELS.is_multiple_of(S::F32_LANES) => self.generic(simd),
            3 => self.fixed::<S, 3>(simd),
            6 => self.fixed::<S, 6>(simd),
            24 => self.fixed::<S, 24>(simd),
            _ => self.generic(simd),
        }
    }
}

impl StemRow<'_> {
    /// Input pixel `(2·oy + ky − 1, 2·ox + kx − 1)`, `None` in the padding.
    #[inline(always)]
    fn tap_pixel(oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
        let y = (2 * oy + ky).checked_sub(1).filter(|&y| y < INPUT_SIZE)?;
        let x = (2 * ox + kx).checked_sub(1).filter(|&x| x < INPUT_SIZE)?;
        Some(y * INPUT_SIZE + x)
    }

    /// The row with the 24 output channels in `N` registers per pixel, as many pixels per
    /// pass as the registers hold: 8 with 32 registers (24 sums, 3 taps, 1 input), 3 with 16.
    #[inline(always)]
    fn fixed<S: Simd, const N: usize>(self, simd: S) {
        match (N, self.registers) {
            (3, 32..) => self.fixed_pixels::<S, N, 8>(simd),
            (3, _) => self.fixed_pixels::<S, N, 3>(simd),
            _ => self.fixed_pixels::<S, N, 1>(simd),
        }
    }

    /// The row, `P` neighbouring pixels per pass where all their taps lie inside the photo
    /// (each tap's weights are loaded once for the `P` pixels), one at a time at its ends.
    #[inline(always)]
    fn fixed_pixels<S: Simd, const N: usize, const P: usize>(self, simd: S) {
        let Self {
            input,
            taps,
            bias,
            oy,
            row,
            ..
        } = self;
        let (taps, _) = S::as_simd_f32s(taps);
        let (bias, _) = S::as_simd_f32s(bias);
        let (out_row, _) = S::as_mut_simd_f32s(row);
        let zero = simd.splat_f32s(0.0);
        let bias: [S::f32s; N] = std::array::from_fn(|k| bias[k]);
        let input_rows: [Option<usize>; 5] =
            std::array::from_fn(|ky| (2 * oy + ky).checked_sub(1).filter(|&y| y < INPUT_SIZE));
        let width = out_row.len() / N;
        let mut ox = 0;
        while ox < width {
            // Pixels ox..ox + P read columns 2·ox − 1 ..= 2·(ox + P − 1) + 3.
            if P > 1 && ox >= 1 && 2 * (ox + P - 1) + 3 < INPUT_SIZE {
                let mut acc = [bias; P];
                for (ky, iy) in input_rows.iter().enumerate() {
                    let Some(iy) = *iy else { continue };
                    let line = &input[3 * (iy * INPUT_SIZE + 2 * ox - 1)..][..3 * (2 * P + 3)];
                    for kx in 0..5 {
                        for c in 0..3 {
                            let tap = &taps[(c * 25 + ky * 5 + kx) * N..][..N];
                            for (p, sums) in acc.iter_mut().enumerate() {
                                let v = simd.splat_f32s(line[3 * (2 * p + kx) + c]);
                                for k in 0..N {
                                    sums[k] = simd.mul_add_e_f32s(v, tap[k], sums[k]);
                                }
                            }
                        }
                    }
                }
                for (p, sums) in acc.iter().enumerate() {
                    for k in 0..N {
                        out_row[(ox + p) * N + k] = simd.max_f32s(sums[k], zero);
                    }
                }
                ox += P;
                continue;
            }
            let mut acc = bias;
            for ky in 0..5 {
                for kx in 0..5 {
                    let Some(at) = Self::tap_pixel(oy, ox, ky, kx) else {
                        continue;
                    };
                    for (c, &v) in input[3 * at..][..3].iter().enumerate() {
                        let tap = &taps[(c * 25 + ky * 5 + kx) * N..][..N];
                        let v = simd.splat_f32s(v);
                        for k in 0..N {
                            acc[k] = simd.mul_add_e_f32s(v, tap[k], acc[k]);
                        }
                    }
                }
            }
            for k in 0..N {
                out_row[ox * N + k] = simd.max_f32s(acc[k], zero);
            }
            ox += 1;
        }
    }

    /// The row for any vector width, vectors kept in memory.
    #[inline(always)]
    fn generic<S: Simd>(self, simd: S) {
        let Self {
            input,
            taps,
            bias,
            oy,
            row,
            ..
        } = self;
        for (ox, out) in row.chunks_exact_mut(STEM_CHANNELS).enumerate() {
            out.copy_from_slice(bias);
            for ky in 0..5 {
                for kx in 0..5 {
                    let Some(at) = Self::tap_pixel(oy, ox, ky, kx) else {
                        continue;
                    };
                    for (c, &v) in input[3 * at..][..3].iter().enumerate() {
                        let tap = c * 25 + ky * 5 + kx;
                        fma_sv(simd, out, v, &taps[tap * STEM_CHANNELS..][..STEM_CHANNELS]);
                    }
                }
            }
            for o in out.iter_mut() {
                *o = o.max(0.0);
            }
        }
    }
}

/// A block over a `side × side × channels_in` map, into `out`
/// (`side / stride` squared × `channels_out`).
fn block_forward(block: &Block, input: &[f32], side: usize, out: &mut [f32], isa: Isa) {
    let out_side = side / block.stride;
    out.par_chunks_mut(out_side * block.channels_out)
        .enumerate()
        .for_each_init(
            || vec![0.0; out_side * block.channels_in],
            |depthwise, (y, row)| {
                isa.run(BlockRow {
                    block,
                    input,
                    side,
                    y,
                    depthwise,
                    row,
                    registers: isa.registers(),
                });
            },
        );
}

/// One output row of a block: depthwise 3×3 (stride 1 padded on every side, or stride 2
/// padded below and right as TensorFlow's "same"), pointwise with bias, plus the shortcut
/// (2×2 max-pooled at stride 2, zero in the added channels), ReLU.
struct BlockRow<'a> {
    block: &'a Block,
    input: &'a [f32],
    side: usize,
    y: usize,
    /// Scratch for the row's depthwise output, `[side / stride][channels_in]`.
    depthwise: &'a mut [f32],
    row: &'a mut [f32],
    /// Vector registers the kernels may plan for ([`Isa::registers`]).
    registers: usize,
}

impl WithSimd for BlockRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let lanes = S::F32_LANES;
        let (ci, co) = (self.block.channels_in, self.block.channels_out);
        if !ci.is_multiple_of(lanes) || !co.is_multiple_of(lanes) {
            return self.generic(simd);
        }
        match (ci / lanes, co / lanes) {
            (3, 3) => self.fixed::<S, 3, 3>(simd),
            (3, 6) => self.fixed::<S, 3, 6>(simd),
            (6, 6) => self.fixed::<S, 6, 6>(simd),
            (6, 12) => self.fixed::<S, 6, 12>(simd),
            (12, 12) => self.fixed::<S, 12, 12>(simd),
            (12, 24) => self.fixed::<S, 12, 24>(simd),
            (24, 24) => self.fixed::<S, 24, 24>(simd),
            _ => self.generic(simd),
        }
    }
}

impl BlockRow<'_> {
    /// The row with `NI` input and `NO` output vectors per pixel held in registers; needs
    /// both channel counts to be multiples of the vector width.
    #[inline(always)]
    fn fixed<S: Simd, const NI: usize, const NO: usize>(self, simd: S) {
        let Self {
            block,
            input,
            side,
            y,
            depthwise,
            row,
            registers,
        } = self;
        let kernels = RowKernels {
            simd,
            block,
            pixels: S::as_simd_f32s(input).0,
            taps: S::as_simd_f32s(&block.depthwise).0,
            pointwise: S::as_simd_f32s(&block.pointwise).0,
            bias: S::as_simd_f32s(&block.bias).0,
            side,
            y,
        };
        // Sums of `NI` vectors per pixel; with 32 registers, a pass over several pixels loads
        // each input pixel once for the (up to 3) outputs that read it.
        let scratch = S::as_mut_simd_f32s(depthwise).0;
        match (block.stride, NI, registers) {
            (1, 3, 32..) => kernels.depthwise_blocked::<NI, 4>(scratch),
            (1, 6, 32..) => kernels.depthwise_blocked::<NI, 2>(scratch),
            _ => kernels.depthwise_pairs::<NI>(scratch),
        }
        // Pixels per pass of the pointwise convolution: each weight load serves that many
        // multiply-adds, and their sums (`NO` vectors each) stay in registers.
        let out_row = S::as_mut_simd_f32s(row).0;
        match (NO, registers) {
            (3, 32..) => kernels.pointwise::<NI, NO, 8>(depthwise, out_row),
            (6, 32..) => kernels.pointwise::<NI, NO, 4>(depthwise, out_row),
            (12, 32..) | (..=6, _) => kernels.pointwise::<NI, NO, 2>(depthwise, out_row),
            _ => kernels.pointwise::<NI, NO, 1>(depthwise, out_row),
        }
    }
}

/// The vector kernels of one output row `y` of a block.
struct RowKernels<'a, S: Simd> {
    simd: S,
    block: &'a Block,
    /// The block's input map, `[side][side][NI]` vectors.
    pixels: &'a [S::f32s],
    /// The depthwise weights, `[9][NI]` vectors.
    taps: &'a [S::f32s],
    /// The pointwise weights, `[channels_in][NO]` vectors.
    pointwise: &'a [S::f32s],
    /// The pointwise bias, `NO` vectors.
    bias: &'a [S::f32s],
    side: usize,
    y: usize,
}

impl<S: Simd> RowKernels<'_, S> {
    /// Input pixel `(iy, ix)`'s `NI` vectors.
    #[inline(always)]
    fn pixel<const NI: usize>(&self, iy: usize, ix: usize) -> &[S::f32s] {
        &self.pixels[(iy * self.side + ix) * NI..][..NI]
    }

    /// The input row or column that tap `k` of output row or column `o` reads.
    #[inline(always)]
    fn at(&self, o: usize, k: usize) -> Option<usize> {
        self.block.tap_input(o, k, self.side)
    }

    /// Whether every tap of output column `o` lies inside the map.
    #[inline(always)]
    fn interior(&self, o: usize) -> bool {
        self.at(o, 0).is_some() && self.at(o, 2).is_some()
    }

    /// The depthwise convolution of output pixel `ox`, taps in the padding skipped.
    #[inline(always)]
    fn depthwise_one<const NI: usize>(&self, ox: usize, out: &mut [S::f32s]) {
        let simd = self.simd;
        let mut acc = [simd.splat_f32s(0.0); NI];
        for ky in 0..3 {
            let Some(iy) = self.at(self.y, ky) else {
                continue;
            };
            for kx in 0..3 {
                let Some(ix) = self.at(ox, kx) else { continue };
                let (p, t) = (
                    self.pixel::<NI>(iy, ix),
                    &self.taps[(ky * 3 + kx) * NI..][..NI],
                );
                for k in 0..NI {
                    acc[k] = simd.mul_add_e_f32s(p[k], t[k], acc[k]);
                }
            }
        }
        out[..NI].copy_from_slice(&acc);
    }

    /// The row's depthwise convolution into `scratch`, two interior neighbours per pass
    /// sharing each tap load (any stride).
    #[inline(always)]
    fn depthwise_pairs<const NI: usize>(&self, scratch: &mut [S::f32s]) {
        let simd = self.simd;
        let stride = self.block.stride;
        let zero = simd.splat_f32s(0.0);
        let out_width = scratch.len() / NI;
        let mut ox = 0;
        while ox < out_width {
            if ox + 1 < out_width && self.interior(ox) && self.interior(ox + 1) {
                let mut a = [zero; NI];
                let mut b = [zero; NI];
                // Both are interior: tap kx of pixel ox reads column `left + kx`.
                let left = stride * ox + stride - 2;
                for ky in 0..3 {
                    let Some(iy) = self.at(self.y, ky) else {
                        continue;
                    };
                    for kx in 0..3 {
                        let t = &self.taps[(ky * 3 + kx) * NI..][..NI];
                        let p = self.pixel::<NI>(iy, left + kx);
                        let q = self.pixel::<NI>(iy, left + stride + kx);
                        for k in 0..NI {
                            a[k] = simd.mul_add_e_f32s(p[k], t[k], a[k]);
                            b[k] = simd.mul_add_e_f32s(q[k], t[k], b[k]);
                        }
                    }
                }
                scratch[ox * NI..][..NI].copy_from_slice(&a);
                scratch[(ox + 1) * NI..][..NI].copy_from_slice(&b);
                ox += 2;
                continue;
            }
            self.depthwise_one::<NI>(ox, &mut scratch[ox * NI..]);
            ox += 1;
        }
    }

    /// The row's depthwise convolution (stride 1) into `scratch`, `P` interior neighbours
    /// per pass: a kernel row's taps stay in registers, and each of the `P + 2` input pixels
    /// under the pass is loaded once for the up to 3 outputs that read it.
    #[inline(always)]
    fn depthwise_blocked<const NI: usize, const P: usize>(&self, scratch: &mut [S::f32s]) {
        let simd = self.simd;
        let zero = simd.splat_f32s(0.0);
        let width = scratch.len() / NI;
        let rows: [Option<usize>; 3] = std::array::from_fn(|ky| self.at(self.y, ky));
        let mut ox = 0;
        while ox < width {
            // Outputs ox..ox + P read columns ox − 1 ..= ox + P.
            if ox >= 1 && ox + P < width {
                let mut acc = [[zero; NI]; P];
                for (ky, iy) in rows.iter().enumerate() {
                    let Some(iy) = *iy else { continue };
                    let taps: [[S::f32s; NI]; 3] = std::array::from_fn(|kx| {
                        std::array::from_fn(|k| self.taps[(ky * 3 + kx) * NI + k])
                    });
                    let line = &self.pixels[(iy * self.side + ox - 1) * NI..][..(P + 2) * NI];
                    for column in 0..P + 2 {
                        let p: [S::f32s; NI] = std::array::from_fn(|k| line[column * NI + k]);
                        for (kx, t) in taps.iter().enumerate() {
                            // Column `column` is tap kx of output `column − kx`.
                            let Some(sums) = column.checked_sub(kx).and_then(|o| acc.get_mut(o))
                            else {
                                continue;
                            };
                            for k in 0..NI {
                                sums[k] = simd.mul_add_e_f32s(p[k], t[k], sums[k]);
                            }
                        }
                    }
                }
                for (p, sums) in acc.iter().enumerate() {
                    scratch[(ox + p) * NI..][..NI].copy_from_slice(sums);
                }
                ox += P;
                continue;
            }
            self.depthwise_one::<NI>(ox, &mut scratch[ox * NI..]);
            ox += 1;
        }
    }

    /// The row's pointwise convolution with bias, shortcut and ReLU into `out_row`, `P`
    /// pixels per pass (then one at a time), from the depthwise sums in `depthwise`.
    #[inline(always)]
    fn pointwise<const NI: usize, const NO: usize, const P: usize>(
        &self,
        depthwise: &[f32],
        out_row: &mut [S::f32s],
    ) {
        let ci = NI * S::F32_LANES;
        let width = out_row.len() / NO;
        let passes = width / P;
        for pass in 0..passes {
            let ox = pass * P;
            self.pointwise_pixels::<NI, NO, P>(
                ox,
                &depthwise[ox * ci..][..P * ci],
                &mut out_row[ox * NO..][..P * NO],
            );
        }
        for ox in passes * P..width {
            self.pointwise_pixels::<NI, NO, 1>(
                ox,
                &depthwise[ox * ci..][..ci],
                &mut out_row[ox * NO..][..NO],
            );
        }
    }

    /// Output pixels `ox..ox + P` of the pointwise convolution: each weight load serves `P`
    /// multiply-adds.
    #[inline(always)]
    fn pointwise_pixels<const NI: usize, const NO: usize, const P: usize>(
        &self,
        ox: usize,
        values: &[f32],
        out: &mut [S::f32s],
    ) {
        let simd = self.simd;
        let ci = NI * S::F32_LANES;
        let weights = &self.pointwise[..ci * NO];
        let bias: [S::f32s; NO] = std::array::from_fn(|k| self.bias[k]);
        let inputs: [&[f32]; P] = std::array::from_fn(|p| &values[p * ci..][..ci]);
        let mut acc = [bias; P];
        for c in 0..ci {
            let w = &weights[c * NO..][..NO];
            for (sums, input) in acc.iter_mut().zip(&inputs) {
                let v = simd.splat_f32s(input[c]);
                for k in 0..NO {
                    sums[k] = simd.mul_add_e_f32s(v, w[k], sums[k]);
                }
            }
        }
        for (p, sums) in acc.into_iter().enumerate() {
            self.finish::<NI, NO>(ox + p, sums, &mut out[p * NO..][..NO]);
        }
    }

    /// Adds the shortcut of output pixel `ox` to its pointwise result `acc`, applies the
    /// ReLU and stores it in `out`.
    #[inline(always)]
    fn finish<const NI: usize, const NO: usize>(
        &self,
        ox: usize,
        mut acc: [S::f32s; NO],
        out: &mut [S::f32s],
    ) {
        let simd = self.simd;
        let y = self.y;
        if self.block.residual {
            let shortcut: [S::f32s; NI] = if self.block.stride == 1 {
                std::array::from_fn(|k| self.pixel::<NI>(y, ox)[k])
            } else {
                let quad = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .map(|(dy, dx)| self.pixel::<NI>(2 * y + dy, 2 * ox + dx));
                std::array::from_fn(|k| {
                    let top = simd.max_f32s(quad[0][k], quad[1][k]);
                    simd.max_f32s(top, simd.max_f32s(quad[2][k], quad[3][k]))
                })
            };
            for k in 0..NI {
                acc[k] = simd.add_f32s(acc[k], shortcut[k]);
            }
        }
        let zero = simd.splat_f32s(0.0);
        for k in 0..NO {
            out[k] = simd.max_f32s(acc[k], zero);
        }
    }
}

impl BlockRow<'_> {
    /// The row for any channel counts, vectors kept in memory.
    #[inline(always)]
    fn generic<S: Simd>(self, simd: S) {
        let Self {
            block,
            input,
            side,
            y,
            depthwise,
            row,
            ..
        } = self;
        let (ci, co, stride) = (block.channels_in, block.channels_out, block.stride);
        let pixel = |iy: usize, ix: usize| &input[(iy * side + ix) * ci..][..ci];
        let at = |o: usize, k: usize| block.tap_input(o, k, side);

        for (ox, acc) in depthwise.chunks_exact_mut(ci).enumerate() {
            acc.fill(0.0);
            for ky in 0..3 {
                let Some(iy) = at(y, ky) else { continue };
                for kx in 0..3 {
                    let Some(ix) = at(ox, kx) else { continue };
                    let tap = &block.depthwise[(ky * 3 + kx) * ci..][..ci];
                    fma_vv(simd, acc, pixel(iy, ix), tap);
                }
            }
        }

        let mut buffer = [0.0f32; 96];
        let acc = &mut buffer[..co];
        for (ox, (out, d)) in row
            .chunks_exact_mut(co)
            .zip(depthwise.chunks_exact(ci))
            .enumerate()
        {
            acc.copy_from_slice(&block.bias);
            for (&v, weights) in d.iter().zip(block.pointwise.chunks_exact(co)) {
                fma_sv(simd, acc, v, weights);
            }
            if block.residual {
                let shortcut = &mut acc[..ci];
                if stride == 1 {
                    for (a, &v) in shortcut.iter_mut().zip(pixel(y, ox)) {
                        *a += v;
                    }
                } else {
                    let quad = [(0, 0), (0, 1), (1, 0), (1, 1)]
                        .map(|(dy, dx)| pixel(2 * y + dy, 2 * ox + dx));
                    for (c, a) in shortcut.iter_mut().enumerate() {
                        *a += quad[0][c].max(quad[1][c]).max(quad[2][c].max(quad[3][c]));
                    }
                }
            }
            for (o, &a) in out.iter_mut().zip(acc.iter()) {
                *o = a.max(0.0);
            }
        }
    }
}

/// A head's 1×1 convolution over a 96-channel map, in map order (row, column, channel).
fn pointwise_map(head: &Pointwise, map: &[f32], isa: Isa) -> Vec<f32> {
    struct Head<'a> {
        head: &'a Pointwise,
        map: &'a [f32],
    }
    impl WithSimd for Head<'_> {
        type Output = Vec<f32>;

        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
            let Self { head, map } = self;
            let co = head.channels_out;
            let mut out = Vec::with_capacity(map.len() / 96 * co);
            for pixel in map.chunks_exact(96) {
                let start = out.len();
                out.extend_from_slice(&head.bias);
                let acc = &mut out[start..];
                for (&v, weights) in pixel.iter().zip(head.weight.chunks_exact(co)) {
                    fma_sv(simd, acc, v, weights);
                }
            }
            out
        }
    }
    isa.run(Head { head, map })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar fallback (a processor without AVX2, or lane counts that do not divide the
    /// channels) runs the generic kernels; every vector path this processor has (AVX2 with 16
    /// registers; with AVX-512, also AVX2 with 32 registers and more pixels per pass) must
    /// agree with them.
    #[test]
    fn every_instruction_set_agrees_with_the_scalar_kernels() {
        let net = CpuBlazeFace::from_net(&BlazeFaceNet::new(&mien_core::device::cpu())).unwrap();
        let photo = image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([(x % 251) as u8, (y * 3 % 256) as u8, ((x * y) % 253) as u8])
        });
        let input = super::super::letterbox_nhwc(&image::DynamicImage::ImageRgb8(photo)).1;
        let (scalar_logits, scalar_boxes) = net.forward_on(&input, Isa::Pulp(Arch::Scalar));
        let worst = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                .fold(0.0f32, f32::max)
        };
        let mut isas = vec![Isa::Pulp(vector_arch()), Isa::detect()];
        #[cfg(target_arch = "x86_64")]
        isas.extend(pulp::x86::V4::try_new().map(Isa::Avx2With32Registers));
        for isa in isas {
            let (logits, boxes) = net.forward_on(&input, isa);
            assert!(worst(&logits, &scalar_logits) < 1e-4, "{isa:?}");
            assert!(worst(&boxes, &scalar_boxes) < 1e-4, "{isa:?}");
        }
    }

    #[test]
    #[should_panic(expected = "256 × 256 × 3")]
    fn a_wrong_input_size_is_refused() {
        let net = CpuBlazeFace::from_net(&BlazeFaceNet::new(&mien_core::device::cpu())).unwrap();
        net.forward(&[0.0; 12]);
    }
}
