//! Integral images: plain sums, squared sums, and Lienhart's 45°-tilted sums, laid out as
//! OpenCV's `integral` lays them out (one extra row and column of zeros at the top-left).

/// The integral images of one 8-bit image of `width` × `height` pixels, each stored
/// row-major with `stride = width + 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Integrals {
    /// `stride`: pixels per row plus one.
    pub stride: usize,
    /// Rows plus one.
    pub rows: usize,
    /// `sum[Y·stride + X]` = Σ of pixels with `x < X`, `y < Y`.
    pub sum: Vec<i32>,
    /// The same for squared pixels (`i64`: no overflow at any image size).
    pub squares: Vec<i64>,
    /// `tilted[Y·stride + X]` = Σ of pixels with `y < Y` and `|x − (X − 1)| ≤ Y − 1 − y`
    /// (OpenCV's tilted integral); empty unless requested.
    pub tilted: Vec<i32>,
}

impl Integrals {
    /// Computes the integrals of `pixels` (`width` × `height`, row-major); the tilted one
    /// only when `with_tilted`.
    pub fn new(pixels: &[u8], width: usize, height: usize, with_tilted: bool) -> Self {
        assert_eq!(pixels.len(), width * height, "pixel count");
        let stride = width + 1;
        let rows = height + 1;
        let mut sum = vec![0i32; stride * rows];
        let mut squares = vec![0i64; stride * rows];
        for y in 0..height {
            let (mut row_sum, mut row_squares) = (0i32, 0i64);
            for x in 0..width {
                let v = pixels[y * width + x];
                row_sum = row_sum.wrapping_add(i32::from(v));
                row_squares += i64::from(v) * i64::from(v);
                let at = (y + 1) * stride + x + 1;
                sum[at] = sum[at - stride].wrapping_add(row_sum);
                squares[at] = squares[at - stride] + row_squares;
            }
        }
        let tilted = if with_tilted {
            tilted_integral(pixels, width, height)
        } else {
            Vec::new()
        };
        Self {
            stride,
            rows,
            sum,
            squares,
            tilted,
        }
    }

    /// Σ of pixels in `[x, x + w) × [y, y + h)`.
    pub fn rect_sum(&self, x: usize, y: usize, w: usize, h: usize) -> i32 {
        let s = &self.sum;
        let (a, b) = (y * self.stride + x, (y + h) * self.stride + x);
        s[a].wrapping_sub(s[a + w])
            .wrapping_sub(s[b])
            .wrapping_add(s[b + w])
    }
}

/// OpenCV's tilted integral, by the recurrence
/// `T(X, Y) = T(X−1, Y−1) + T(X+1, Y−1) − T(X, Y−2) + I(X−1, Y−1) + I(X−1, Y−2)`,
/// evaluated on columns widened by `height + 1` on both sides (where the triangles hold no
/// pixels, so the recurrence needs no special cases), then cropped to `0..=width`.
fn tilted_integral(pixels: &[u8], width: usize, height: usize) -> Vec<i32> {
    let pad = height + 1;
    let wide = width + 1 + 2 * pad; // columns X = −pad ..= width + pad
    let rows = height + 1;
    let mut t = vec![0i32; wide * rows];
    let pixel = |x: isize, y: isize| -> i32 {
        if x >= 0 && (x as usize) < width && y >= 0 && (y as usize) < height {
            i32::from(pixels[y as usize * width + x as usize])
        } else {
            0
        }
    };
    for y in 1..rows {
        for c in 1..wide - 1 {
            let x = c as isize - pad as isize; // the integral's X
            let mut v = t[(y - 1) * wide + c - 1].wrapping_add(t[(y - 1) * wide + c + 1]);
            if y >= 2 {
                v = v.wrapping_sub(t[(y - 2) * wide + c]);
            }
            v = v
                .wrapping_add(pixel(x - 1, y as isize - 1))
                .wrapping_add(pixel(x - 1, y as isize - 2));
            t[y * wide + c] = v;
        }
    }
    let stride = width + 1;
    let mut out = vec![0i32; stride * rows];
    for y in 0..rows {
        out[y * stride..(y + 1) * stride]
            .copy_from_slice(&t[y * wide + pad..y * wide + pad + stride]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: usize, height: usize, seed: u32) -> Vec<u8> {
        (0..width * height)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 24) as u8)
            .collect()
    }

    #[test]
    fn sums_match_brute_force() {
        let (w, h) = (7, 5);
        let px = image(w, h, 1);
        let ii = Integrals::new(&px, w, h, false);
        for (x, y, rw, rh) in [(0, 0, 7, 5), (1, 2, 3, 2), (6, 4, 1, 1), (2, 0, 0, 3)] {
            let brute: i32 = (y..y + rh)
                .flat_map(|yy| (x..x + rw).map(move |xx| (xx, yy)))
                .map(|(xx, yy)| i32::from(px[yy * w + xx]))
                .sum();
            assert_eq!(ii.rect_sum(x, y, rw, rh), brute);
        }
        let total_sq: i64 = px.iter().map(|&v| i64::from(v) * i64::from(v)).sum();
        assert_eq!(ii.squares[h * (w + 1) + w], total_sq);
    }

    #[test]
    fn tilted_integral_matches_its_definition() {
        let (w, h) = (9, 6);
        let px = image(w, h, 7);
        let ii = Integrals::new(&px, w, h, true);
        for big_y in 0..=h {
            for big_x in 0..=w {
                let mut brute = 0i32;
                for y in 0..big_y {
                    for x in 0..w {
                        let reach = (big_y - 1 - y) as isize;
                        if (x as isize - (big_x as isize - 1)).abs() <= reach {
                            brute += i32::from(px[y * w + x]);
                        }
                    }
                }
                assert_eq!(
                    ii.tilted[big_y * (w + 1) + big_x],
                    brute,
                    "T({big_x}, {big_y})"
                );
            }
        }
    }
}
