//! OpenCV's bit-exact bilinear resize of 8-bit images (`INTER_LINEAR_EXACT`), which
//! `detectMultiScale` uses to build its image pyramid. Coefficients are rounded to 1/256;
//! a horizontal pass gives 8.8 fixed-point values, a vertical pass rounds them back.

/// The source index and 8-bit weights of every destination coordinate along one axis,
/// plus the ranges that replicate the first and last source sample.
struct Axis {
    offsets: Vec<usize>,
    weights: Vec<[u32; 2]>,
    /// Destination indices below this copy source sample 0.
    first: usize,
    /// Destination indices from this on copy the last source sample.
    last: usize,
}

impl Axis {
    fn new(source: usize, destination: usize) -> Self {
        let inverse = destination as f64 / source as f64;
        let scale = 1.0 / inverse;
        let (mut first, mut last) = (0, destination);
        let mut offsets = vec![0; destination];
        let mut weights = vec![[256, 0]; destination];
        for d in 0..destination {
            let f = scale * (d as f64 + 0.5) - 0.5;
            let i = f.floor();
            if i >= 0.0 && source > 1 {
                let i = i as usize;
                if i < source - 1 {
                    offsets[d] = i;
                    let c1 = ((f - i as f64) * 256.0).round_ties_even().max(0.0) as u32;
                    weights[d] = [256 - c1.min(256), c1];
                } else {
                    offsets[d] = source - 1;
                    last = last.min(d);
                }
            } else {
                first = first.max(d + 1);
            }
        }
        Self {
            offsets,
            weights,
            first,
            last,
        }
    }
}

/// Resizes a `width` × `height` 8-bit image (row-major) to `new_width` × `new_height`
/// exactly as OpenCV 4's `resize(…, INTER_LINEAR_EXACT)` does.
pub fn resize_linear_exact(
    pixels: &[u8],
    width: usize,
    height: usize,
    new_width: usize,
    new_height: usize,
) -> Vec<u8> {
    if (width, height) == (new_width, new_height) {
        return pixels.to_vec();
    }
    let (xs, ys) = (Axis::new(width, new_width), Axis::new(height, new_height));
    // Horizontal pass over every source row: 8.8 fixed point.
    let horizontal = |row: usize| -> Vec<u32> {
        let src = &pixels[row * width..(row + 1) * width];
        (0..new_width)
            .map(|dx| {
                if dx < xs.first {
                    u32::from(src[0]) << 8
                } else if dx >= xs.last {
                    u32::from(src[width - 1]) << 8
                } else {
                    let o = xs.offsets[dx];
                    let [c0, c1] = xs.weights[dx];
                    c0 * u32::from(src[o]) + c1 * u32::from(src[o + 1])
                }
            })
            .collect()
    };
    let rows: Vec<Vec<u32>> = (0..height).map(horizontal).collect();
    let mut out = Vec::with_capacity(new_width * new_height);
    for dy in 0..new_height {
        if dy < ys.first || dy >= ys.last {
            let row = if dy < ys.first {
                &rows[0]
            } else {
                &rows[height - 1]
            };
            out.extend(row.iter().map(|&h| ((h + 128) >> 8).min(255) as u8));
        } else {
            let o = ys.offsets[dy];
            let [c0, c1] = ys.weights[dy];
            let (a, b) = (&rows[o], &rows[o + 1]);
            out.extend(
                a.iter()
                    .zip(b)
                    .map(|(&h0, &h1)| ((h0 * c0 + h1 * c1 + 32_768) >> 16).min(255) as u8),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_a_copy_and_halving_averages_2x2_blocks() {
        let px: Vec<u8> = (0..16).map(|v| (v * 13) as u8).collect();
        assert_eq!(resize_linear_exact(&px, 4, 4, 4, 4), px);
        let half = resize_linear_exact(&px, 4, 4, 2, 2);
        // (a + b + c + d + 2) >> 2 for each block.
        let block = |x: usize, y: usize| {
            let s: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                .iter()
                .map(|(dx, dy)| u32::from(px[(2 * y + dy) * 4 + 2 * x + dx]))
                .sum();
            ((s + 2) >> 2) as u8
        };
        assert_eq!(
            half,
            vec![block(0, 0), block(1, 0), block(0, 1), block(1, 1)]
        );
    }

    #[test]
    fn constant_images_stay_constant_and_edges_replicate() {
        let px = vec![77u8; 7 * 5];
        assert!(
            resize_linear_exact(&px, 7, 5, 3, 2)
                .iter()
                .all(|&v| v == 77)
        );
        assert!(
            resize_linear_exact(&px, 7, 5, 11, 9)
                .iter()
                .all(|&v| v == 77)
        );
        // A single column is replicated across the width.
        let column = vec![10u8, 200];
        assert_eq!(
            resize_linear_exact(&column, 1, 2, 3, 2),
            vec![10, 10, 10, 200, 200, 200]
        );
    }
}
