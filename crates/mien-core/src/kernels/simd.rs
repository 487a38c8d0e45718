//! Loops compiled for the processor's vector instructions.
//!
//! A kernel's loop nest implements [`VectorLoop`]; [`vectorised`] runs it inside pulp's
//! `#[target_feature]` trampoline for the best instruction set [`vector_arch`] finds (AVX2 + FMA
//! on x86-64), so plain loops in it and the `#[inline(always)]` helpers below compile to vector
//! code. (A closure handed to pulp is not inlined into the trampoline, and its loops stay scalar:
//! `perf` showed the input gradient's col2im running one float at a time.)

use pulp::{Simd, WithSimd};

use crate::native::vector_arch;

/// A loop nest to run with vector instructions; `run` must be `#[inline(always)]`.
pub trait VectorLoop {
    /// What the loop returns.
    type Output;
    /// Runs the loop; `simd` is the instruction set it was compiled for.
    fn run<S: Simd>(self, simd: S) -> Self::Output;
}

struct Vectorised<L>(L);

impl<L: VectorLoop> WithSimd for Vectorised<L> {
    type Output = L::Output;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> L::Output {
        self.0.run(simd)
    }
}

/// Runs `kernel` compiled for the best vector instructions of this processor.
#[inline]
pub fn vectorised<L: VectorLoop>(kernel: L) -> L::Output {
    vector_arch().dispatch(Vectorised(kernel))
}

/// `dst[i] += a · src[i]` over the shorter of the two, in vector registers.
#[inline(always)]
pub fn axpy<S: Simd>(simd: S, dst: &mut [f32], a: f32, src: &[f32]) {
    crate::native::fma_sv(simd, dst, a, src);
}

// The reductions below are eight independent partial sums, which the compiler keeps in one
// vector register.

/// `Σ a[i]`.
#[inline(always)]
pub fn sum(a: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = a.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for p in chunks {
        for i in 0..8 {
            lanes[i] += p[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `Σ a[i] · b[i]`, in eight lanes like [`sum`].
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(p, q)| p * q)
        .sum();
    for (p, q) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += p[i] * q[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `Σ (a[i] − mean)²`, in eight lanes like [`sum`].
#[inline(always)]
pub fn centred_squares(a: &[f32], mean: f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = a.chunks_exact(8);
    let tail: f32 = chunks
        .remainder()
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .sum();
    for p in chunks {
        for i in 0..8 {
            lanes[i] += (p[i] - mean) * (p[i] - mean);
        }
    }
    lanes.iter().sum::<f32>() + tail
}
