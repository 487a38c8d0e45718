//! Dropout on `f32` slices with a counter-based random mask, on every core.
//!
//! burn's dropout draws one Bernoulli sample per element from a single sequential generator
//! and multiplies twice (by the mask, then by `1 / keep`), each a serial pass: on a small CNN
//! that was a tenth of a training step. Here whether element `i` is kept is a pure function of
//! `(seed, i)` (two rounds of a 32-bit integer hash), so the mask is made in parallel, fused
//! with the scaling, never stored, and the backward pass (the same mask applied to the
//! gradient) is this same function called with the same seed.

use rayon::prelude::*;

use super::simd::{VectorLoop, vectorised};

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// `out[i] = x[i] / keep` where element `i` is kept, `0` elsewhere; each element is kept with
/// probability `keep` (0 < keep ≤ 1), decided by `seed` and `i` alone.
pub fn forward(x: &[f32], keep: f64, seed: u64) -> Vec<f32> {
    let mask = Mask::new(keep, seed);
    let mut out = vec![0.0; x.len()];
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(chunk, (out, x))| {
            vectorised(Masked {
                out,
                x,
                first: chunk * CHUNK,
                mask,
            })
        });
    out
}

/// The keep decision and the scale of kept elements.
#[derive(Debug, Clone, Copy)]
struct Mask {
    /// Kept when the hash is below this.
    threshold: u64,
    scale: f32,
    seeds: [u32; 2],
}

impl Mask {
    fn new(keep: f64, seed: u64) -> Self {
        // The hash is uniform on [0, 2³²): keeping those below keep · 2³² keeps a share `keep`.
        let threshold = (keep.clamp(0.0, 1.0) * 2f64.powi(32)).round() as u64;
        Self {
            threshold,
            scale: (1.0 / keep) as f32,
            seeds: [seed as u32, (seed >> 32) as u32],
        }
    }

    /// Whether element `index` is kept.
    #[inline(always)]
    fn keeps(&self, index: u32) -> bool {
        let hash = mix(mix(index ^ self.seeds[0]).wrapping_add(self.seeds[1]));
        u64::from(hash) < self.threshold
    }
}

/// A 32-bit integer hash with full avalanche (Chris Wellons's "lowbias32" constants): every
/// input bit flips each output bit with probability close to ½.
#[inline(always)]
fn mix(mut v: u32) -> u32 {
    v ^= v >> 16;
    v = v.wrapping_mul(0x7feb_352d);
    v ^= v >> 15;
    v = v.wrapping_mul(0x846c_a68b);
    v ^ (v >> 16)
}

/// One chunk of [`forward`], starting at element `first`.
struct Masked<'a> {
    out: &'a mut [f32],
    x: &'a [f32],
    first: usize,
    mask: Mask,
}

impl VectorLoop for Masked<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: pulp::Simd>(self, _simd: S) {
        let Self {
            out,
            x,
            first,
            mask,
        } = self;
        // Element indices wrap at 2³²: a tensor that large repeats its mask, nothing worse.
        let first = first as u32;
        for (i, (out, &x)) in out.iter_mut().zip(x).enumerate() {
            let kept = mask.keeps(first.wrapping_add(i as u32));
            *out = if kept { x * mask.scale } else { 0.0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_requested_share() {
        let x = vec![1.0; 1 << 20];
        for keep in [0.1, 0.5, 0.75, 0.9] {
            let kept = forward(&x, keep, 42).iter().filter(|&&v| v != 0.0).count();
            let share = kept as f64 / x.len() as f64;
            // Binomial standard deviation at 2²⁰ draws is below 5e-4: 3e-3 is six of them.
            assert!((share - keep).abs() < 3e-3, "keep {keep}: kept {share}");
        }
    }

    #[test]
    fn keep_one_is_the_identity() {
        let x: Vec<f32> = (0..1000).map(|i| i as f32 - 500.0).collect();
        assert_eq!(forward(&x, 1.0, 7), x);
    }

    #[test]
    fn neighbouring_elements_are_independent() {
        // Masks of adjacent elements (and across chunk boundaries) agree as often as
        // independent coins do: keep² + (1 − keep)² = 0.5 at keep ½.
        let out = forward(&vec![1.0; 1 << 18], 0.5, 3);
        let same = out.windows(2).filter(|w| w[0] == w[1]).count();
        let share = same as f64 / (out.len() - 1) as f64;
        assert!((share - 0.5).abs() < 5e-3, "adjacent agreement {share}");
    }

    #[test]
    fn seeds_give_different_masks() {
        let x = vec![1.0; 4096];
        let (a, b) = (forward(&x, 0.5, 1), forward(&x, 0.5, 2));
        let differ = a.iter().zip(&b).filter(|(p, q)| p != q).count();
        assert!((1500..2600).contains(&differ), "{differ} of 4096 differ");
        assert_eq!(forward(&x, 0.5, 1), a, "the same seed gives the same mask");
        // The high half of the seed counts as much as the low half.
        assert_ne!(forward(&x, 0.5, 1 | (1 << 40)), a);
    }

    proptest! {
        #[test]
        fn every_output_is_zero_or_scaled(
            x in prop::collection::vec(-1e3f32..1e3, 0..3000),
            keep in 0.05f64..1.0,
            seed: u64,
        ) {
            let out = forward(&x, keep, seed);
            prop_assert_eq!(out.len(), x.len());
            let scale = (1.0 / keep) as f32;
            for (o, x) in out.iter().zip(&x) {
                prop_assert!(*o == 0.0 || *o == x * scale, "{} from {}", o, x);
            }
        }
    }
}
