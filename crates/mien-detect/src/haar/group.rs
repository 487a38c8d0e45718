//! OpenCV's `groupRectangles`: merge overlapping raw detections into one box per object.

/// An axis-aligned integer rectangle, as OpenCV's `cv::Rect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left column.
    pub x: i32,
    /// Top row.
    pub y: i32,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
}

/// OpenCV's `SimilarRects`: every edge within `eps` × the mean of the smaller width and
/// height.
fn similar(a: &Rect, b: &Rect, eps: f64) -> bool {
    let delta = eps * (f64::from(a.width.min(b.width)) + f64::from(a.height.min(b.height))) * 0.5;
    let close = |u: i32, v: i32| f64::from((u - v).abs()) <= delta;
    close(a.x, b.x)
        && close(a.y, b.y)
        && close(a.x + a.width, b.x + b.width)
        && close(a.y + a.height, b.y + b.height)
}

/// Splits `rects` into the connected components of [`similar`]; returns each rectangle's
/// class, classes numbered in order of first appearance (as OpenCV's `partition`).
fn partition(rects: &[Rect], eps: f64) -> (Vec<usize>, usize) {
    let n = rects.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if similar(&rects[i], &rects[j], eps) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                if a != b {
                    parent[b.max(a)] = a.min(b);
                }
            }
        }
    }
    let mut class_of_root = vec![usize::MAX; n];
    let mut classes = 0;
    let labels = (0..n)
        .map(|i| {
            let root = find(&mut parent, i);
            if class_of_root[root] == usize::MAX {
                class_of_root[root] = classes;
                classes += 1;
            }
            class_of_root[root]
        })
        .collect();
    (labels, classes)
}

/// OpenCV's rounding of a float to int (`cvRound`: to nearest, ties to even).
fn cv_round(v: f32) -> i32 {
    v.round_ties_even() as i32
}

/// Groups raw detections as OpenCV's `groupRectangles(rects, group_threshold, eps)`:
/// clusters of similar rectangles are averaged; clusters of `group_threshold` or fewer
/// rectangles are dropped; a cluster's box inside a stronger cluster's box is dropped.
/// With `group_threshold == 0` the rectangles are returned unchanged. Returns each kept
/// box with the number of raw detections it merges.
pub fn group_rectangles(rects: &[Rect], group_threshold: usize, eps: f64) -> Vec<(Rect, usize)> {
    if group_threshold == 0 || rects.is_empty() {
        return rects.iter().map(|&r| (r, 1)).collect();
    }
    let (labels, classes) = partition(rects, eps);
    let mut sums = vec![[0i64; 4]; classes];
    let mut counts = vec![0usize; classes];
    for (r, &class) in rects.iter().zip(&labels) {
        let s = &mut sums[class];
        s[0] += i64::from(r.x);
        s[1] += i64::from(r.y);
        s[2] += i64::from(r.width);
        s[3] += i64::from(r.height);
        counts[class] += 1;
    }
    let averaged: Vec<Rect> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &n)| {
            let scale = 1.0f32 / n as f32;
            Rect {
                x: cv_round(s[0] as f32 * scale),
                y: cv_round(s[1] as f32 * scale),
                width: cv_round(s[2] as f32 * scale),
                height: cv_round(s[3] as f32 * scale),
            }
        })
        .collect();
    let mut kept = Vec::new();
    for (i, r1) in averaged.iter().enumerate() {
        let n1 = counts[i];
        if n1 <= group_threshold {
            continue;
        }
        let inside_stronger = averaged.iter().enumerate().any(|(j, r2)| {
            let n2 = counts[j];
            if j == i || n2 <= group_threshold {
                return false;
            }
            let dx = cv_round(r2.width as f32 * eps as f32);
            let dy = cv_round(r2.height as f32 * eps as f32);
            r1.x >= r2.x - dx
                && r1.y >= r2.y - dy
                && r1.x + r1.width <= r2.x + r2.width + dx
                && r1.y + r1.height <= r2.y + r2.height + dy
                && (n2 > n1.max(3) || n1 < 3)
        });
        if !inside_stronger {
            kept.push((*r1, n1));
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: i32, y: i32, w: i32, h: i32) -> Rect {
        Rect {
            x,
            y,
            width: w,
            height: h,
        }
    }

    #[test]
    fn similar_uses_a_fifth_of_the_smaller_size() {
        // delta = 0.2 · (20 + 20) / 2 = 4
        assert!(similar(&r(0, 0, 20, 20), &r(4, 4, 20, 20), 0.2));
        assert!(!similar(&r(0, 0, 20, 20), &r(5, 0, 20, 20), 0.2));
    }

    #[test]
    fn clusters_are_averaged_and_weak_ones_dropped() {
        let rects = [
            r(10, 10, 20, 20),
            r(12, 10, 20, 20),
            r(11, 13, 21, 21),
            r(100, 100, 30, 30), // alone: dropped with threshold 1
        ];
        let grouped = group_rectangles(&rects, 1, 0.2);
        // x: 33/3 = 11, y: 33/3 = 11, w: 61/3 = 20.33 → 20, h: 20.
        assert_eq!(grouped, vec![(r(11, 11, 20, 20), 3)]);
        assert_eq!(group_rectangles(&rects, 0, 0.2).len(), 4);
        assert!(group_rectangles(&rects, 3, 0.2).is_empty());
    }

    #[test]
    fn a_weak_box_inside_a_strong_one_goes() {
        let mut rects = vec![r(0, 0, 100, 100); 6];
        rects.extend([r(40, 40, 20, 20), r(41, 40, 20, 20)]);
        let grouped = group_rectangles(&rects, 1, 0.2);
        assert_eq!(grouped, vec![(r(0, 0, 100, 100), 6)]);
    }

    #[test]
    fn similarity_is_transitive_through_chains() {
        // a ~ b and b ~ c but not a ~ c: still one cluster.
        let rects = [r(0, 0, 20, 20), r(4, 0, 20, 20), r(8, 0, 20, 20)];
        assert!(!similar(&rects[0], &rects[2], 0.2));
        assert_eq!(group_rectangles(&rects, 1, 0.2), vec![(r(4, 0, 20, 20), 3)]);
    }

    #[test]
    fn averages_round_half_to_even_like_cv_round() {
        assert_eq!(cv_round(2.5), 2);
        assert_eq!(cv_round(3.5), 4);
        assert_eq!(cv_round(-0.5), 0);
    }
}
