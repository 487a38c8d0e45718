//! Reductions written as eight independent partial sums, which the compiler keeps in one
//! vector register (inside [`crate::native::vector_arch`]'s dispatch, in AVX2 registers).

/// Eight independent partial sums, which the compiler keeps in one vector register.
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
