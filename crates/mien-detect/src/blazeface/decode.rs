//! From BlazeFace's 896 anchor outputs to face boxes and key points: anchors, letterbox
//! geometry and MediaPipe's weighted non-maximum suppression.

use mien_core::FaceBox;

use super::net::{ANCHORS, BOX_VALUES, INPUT_SIZE};
use crate::align::Eyes;

/// Logits are clipped to ±this before the sigmoid (MediaPipe's `score_clipping_thresh`).
const LOGIT_CLIP: f32 = 100.0;

/// One detected face: its box and MediaPipe's six key points, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceDetection {
    /// The face box (clipped to the image), confidence = the sigmoid score.
    pub face: FaceBox,
    /// Key points: the subject's right eye (image left for a frontal face), left eye, nose
    /// tip, mouth centre, right ear tragion, left ear tragion.
    pub keypoints: [(f32, f32); 6],
}

impl FaceDetection {
    /// The two eye key points, the one further left in the image first.
    pub fn eyes(&self) -> Eyes {
        let (a, b) = (self.keypoints[0], self.keypoints[1]);
        let (left, right) = if a.0 <= b.0 { (a, b) } else { (b, a) };
        Eyes { left, right }
    }
}

/// Centre of every anchor in the 256×256 input, normalised to `[0, 1]`: 2 per cell of the
/// 16×16 grid, then 6 per cell of the 8×8 grid, cells in row-major order.
pub fn anchor_centres() -> Vec<(f32, f32)> {
    let mut anchors = Vec::with_capacity(ANCHORS);
    for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
        for row in 0..grid {
            for col in 0..grid {
                let centre = (
                    (col as f32 + 0.5) / grid as f32,
                    (row as f32 + 0.5) / grid as f32,
                );
                anchors.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    anchors
}

/// Where a photo sits inside the square network input: scaled by `scale` (longer side to
/// 256 pixels) and centred, padded with black.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Input pixels per photo pixel.
    pub scale: f32,
    /// Left padding in input pixels.
    pub pad_x: u32,
    /// Top padding in input pixels.
    pub pad_y: u32,
    /// Width of the scaled photo in input pixels.
    pub width: u32,
    /// Height of the scaled photo in input pixels.
    pub height: u32,
    /// The photo's size.
    pub photo: (u32, u32),
}

impl Letterbox {
    /// The letterbox of a `width × height` photo (each at least 1).
    pub fn new(width: u32, height: u32) -> Self {
        let (width, height) = (width.max(1), height.max(1));
        let size = INPUT_SIZE as f32;
        let scale = size / width.max(height) as f32;
        let scaled = |side: u32| ((side as f32 * scale).round() as u32).clamp(1, INPUT_SIZE as u32);
        let (w, h) = (scaled(width), scaled(height));
        Self {
            scale,
            pad_x: (INPUT_SIZE as u32 - w) / 2,
            pad_y: (INPUT_SIZE as u32 - h) / 2,
            width: w,
            height: h,
            photo: (width, height),
        }
    }

    /// A point in input pixels → photo pixels.
    pub fn to_photo(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x - self.pad_x as f32) / self.scale,
            (y - self.pad_y as f32) / self.scale,
        )
    }
}

/// The candidates whose score reaches `min_score`, in photo pixels (boxes not yet clipped).
///
/// `logits` has one value per anchor and `regressors` [`BOX_VALUES`] per anchor, as
/// [`super::BlazeFaceNet::forward`] returns them for one image.
pub fn candidates(
    logits: &[f32],
    regressors: &[f32],
    anchors: &[(f32, f32)],
    letterbox: &Letterbox,
    min_score: f32,
) -> Vec<FaceDetection> {
    let size = INPUT_SIZE as f32;
    logits
        .iter()
        .zip(regressors.chunks_exact(BOX_VALUES))
        .zip(anchors)
        .filter_map(|((&logit, r), &(ax, ay))| {
            let score = sigmoid(logit.clamp(-LOGIT_CLIP, LOGIT_CLIP));
            if score.is_nan() || score < min_score {
                return None;
            }
            let point = |dx: f32, dy: f32| letterbox.to_photo(ax * size + dx, ay * size + dy);
            let (cx, cy) = point(r[0], r[1]);
            let (w, h) = (r[2] / letterbox.scale, r[3] / letterbox.scale);
            let mut keypoints = [(0.0, 0.0); 6];
            for (k, point_xy) in keypoints.iter_mut().enumerate() {
                *point_xy = point(r[4 + 2 * k], r[5 + 2 * k]);
            }
            Some(FaceDetection {
                face: FaceBox::new(cx - w / 2.0, cy - h / 2.0, w, h, score),
                keypoints,
            })
        })
        .collect()
}

/// MediaPipe's weighted non-maximum suppression: take the best remaining candidate, merge
/// every candidate overlapping it by IoU ≥ `iou_threshold` into their score-weighted mean
/// (box and key points; the score stays the best one's), repeat. Best first.
pub fn weighted_nms(mut candidates: Vec<FaceDetection>, iou_threshold: f32) -> Vec<FaceDetection> {
    candidates.sort_by(|a, b| b.face.confidence.total_cmp(&a.face.confidence));
    let mut merged = Vec::new();
    while let Some(best) = candidates.first().copied() {
        let (cluster, rest): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|c| best.face.iou(&c.face) >= iou_threshold);
        candidates = rest;
        merged.push(weighted_mean(&cluster, best.face.confidence));
    }
    merged
}

fn weighted_mean(cluster: &[FaceDetection], score: f32) -> FaceDetection {
    let total: f32 = cluster.iter().map(|c| c.face.confidence).sum();
    let mean = |value: &dyn Fn(&FaceDetection) -> f32| {
        cluster
            .iter()
            .map(|c| value(c) * c.face.confidence)
            .sum::<f32>()
            / total
    };
    let mut keypoints = [(0.0, 0.0); 6];
    for (k, point) in keypoints.iter_mut().enumerate() {
        *point = (mean(&|c| c.keypoints[k].0), mean(&|c| c.keypoints[k].1));
    }
    FaceDetection {
        face: FaceBox::new(
            mean(&|c| c.face.x),
            mean(&|c| c.face.y),
            mean(&|c| c.face.width),
            mean(&|c| c.face.height),
            score,
        ),
        keypoints,
    }
}

/// Clips a detection's box to a `width × height` photo (key points stay where they are);
/// `None` when nothing of the box is inside.
pub fn clip_to_photo(detection: FaceDetection, width: u32, height: u32) -> Option<FaceDetection> {
    let face = detection.face.clamp_to(width, height);
    (face.area() > 0.0).then_some(FaceDetection { face, ..detection })
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_mediapipe_order() {
        let a = anchor_centres();
        assert_eq!(a.len(), ANCHORS);
        // First 16×16 cell (two anchors), then the next column.
        assert_eq!(a[0], (0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], (1.5 / 16.0, 0.5 / 16.0));
        // Anchor 111 = cell 55 = row 3, column 7.
        assert_eq!(a[111], (7.5 / 16.0, 3.5 / 16.0));
        // The 8×8 grid starts at 512, six per cell.
        assert_eq!(a[512], (0.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[517], a[512]);
        assert_eq!(a[518], (1.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[895], (7.5 / 8.0, 7.5 / 8.0));
    }

    #[test]
    fn letterbox_centres_and_maps_back() {
        // 640×480 → 256×192, padded 32 rows above.
        let l = Letterbox::new(640, 480);
        assert_eq!((l.width, l.height, l.pad_x, l.pad_y), (256, 192, 0, 32));
        assert_eq!(l.scale, 0.4);
        assert_eq!(l.to_photo(128.0, 32.0), (320.0, 0.0));
        assert_eq!(l.to_photo(256.0, 224.0), (640.0, 480.0));
        // Portrait, and degenerate sizes.
        let p = Letterbox::new(300, 600);
        assert_eq!((p.width, p.height, p.pad_x, p.pad_y), (128, 256, 64, 0));
        let tiny = Letterbox::new(1, 1);
        assert_eq!((tiny.width, tiny.height), (256, 256));
        let strip = Letterbox::new(20_000, 1);
        assert_eq!((strip.width, strip.height), (256, 1));
    }

    #[test]
    fn candidate_decoding_by_hand() {
        // One anchor at the centre of 16×16 cell (row 3, column 7) = (120, 56) input pixels,
        // photo 512×512 so scale 0.5.
        let anchors = [(7.5 / 16.0, 3.5 / 16.0), (0.5, 0.5)];
        let mut regressors = vec![0.0; 2 * BOX_VALUES];
        regressors[..6].copy_from_slice(&[-8.0, 8.0, 50.0, 40.0, 2.0, -2.0]);
        let l = Letterbox::new(512, 512);
        let found = candidates(&[0.0, -3.0], &regressors, &anchors, &l, 0.5);
        assert_eq!(
            found.len(),
            1,
            "sigmoid(0) = 0.5 passes, sigmoid(-3) does not"
        );
        let d = found[0];
        // Centre (112, 64) → photo (224, 128); size (100, 80).
        assert_eq!(
            (d.face.x, d.face.y, d.face.width, d.face.height),
            (174.0, 88.0, 100.0, 80.0)
        );
        assert_eq!(d.face.confidence, 0.5);
        assert_eq!(d.keypoints[0], (244.0, 108.0));
        assert_eq!(d.keypoints[1], (240.0, 112.0));
        // Huge logits neither overflow nor give NaN.
        let found = candidates(&[1e30, f32::NEG_INFINITY], &regressors, &anchors, &l, 0.5);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].face.confidence, 1.0);
    }

    fn detection(x: f32, score: f32) -> FaceDetection {
        FaceDetection {
            face: FaceBox::new(x, 0.0, 10.0, 10.0, score),
            keypoints: [(x, 1.0); 6],
        }
    }

    #[test]
    fn weighted_nms_merges_overlaps_by_score() {
        // Boxes at x = 0 (0.9) and x = 2 (0.3) overlap with IoU 8/12; x = 50 stands alone.
        let merged = weighted_nms(
            vec![
                detection(2.0, 0.3),
                detection(50.0, 0.8),
                detection(0.0, 0.9),
            ],
            0.3,
        );
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].face.confidence, 0.9);
        // (0 × 0.9 + 2 × 0.3) / 1.2 = 0.5.
        assert!((merged[0].face.x - 0.5).abs() < 1e-6);
        assert!((merged[0].keypoints[3].0 - 0.5).abs() < 1e-6);
        assert_eq!(merged[1].face.x, 50.0);
        // Below the threshold nothing merges.
        assert_eq!(
            weighted_nms(vec![detection(0.0, 0.9), detection(2.0, 0.3)], 0.7).len(),
            2
        );
        assert!(weighted_nms(Vec::new(), 0.3).is_empty());
    }

    #[test]
    fn clipping_keeps_the_inside_part() {
        let d = detection(-4.0, 0.9);
        let clipped = clip_to_photo(d, 100, 100).unwrap();
        assert_eq!((clipped.face.x, clipped.face.width), (0.0, 6.0));
        assert!(clip_to_photo(detection(200.0, 0.9), 100, 100).is_none());
    }

    #[test]
    fn eyes_are_ordered_left_to_right() {
        let mut d = detection(0.0, 0.9);
        d.keypoints[0] = (30.0, 10.0);
        d.keypoints[1] = (10.0, 12.0);
        let eyes = d.eyes();
        assert_eq!((eyes.left, eyes.right), ((10.0, 12.0), (30.0, 10.0)));
    }
}
