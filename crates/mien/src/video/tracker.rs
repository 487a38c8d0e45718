//! Faces followed from frame to frame: each keeps its id while it moves, through short
//! misses and past another face.

use std::collections::VecDeque;

use mien_core::FaceBox;

/// The least overlap (intersection over union) between a face and a track's predicted box
/// for the face to continue the track.
const MIN_IOU: f32 = 0.2;

/// Without overlap, a face continues a track when its centre is within this many face
/// widths of the track's predicted centre (fast motion between analysed frames).
const MAX_CENTRE_DISTANCE: f32 = 0.6;

/// One followed face.
#[derive(Debug, Clone)]
struct Track {
    id: u64,
    /// The box at the last match.
    last: FaceBox,
    /// Centre motion per analysed frame (pixels), from the last two matches.
    velocity: [f32; 2],
    /// Analysed frames since the last match.
    missed: usize,
    /// The last `window` emotion probability vectors, newest last.
    emotions: VecDeque<Vec<f32>>,
}

impl Track {
    /// Where the face should be now, moving on as it moved.
    fn predicted(&self) -> FaceBox {
        let steps = (self.missed + 1) as f32;
        FaceBox {
            x: self.last.x + self.velocity[0] * steps,
            y: self.last.y + self.velocity[1] * steps,
            ..self.last
        }
    }
}

fn centre(face: &FaceBox) -> [f32; 2] {
    [face.x + face.width / 2.0, face.y + face.height / 2.0]
}

/// Assigns track ids to the faces of successive frames and smooths each track's emotion
/// probabilities over its last frames.
#[derive(Debug, Clone)]
pub struct Tracker {
    tracks: Vec<Track>,
    next_id: u64,
    max_missed: usize,
    window: usize,
}

impl Tracker {
    /// A tracker whose tracks end after `max_missed` analysed frames without their face,
    /// averaging emotions over `window` frames (1: no smoothing).
    pub fn new(max_missed: usize, window: usize) -> Self {
        Self {
            tracks: Vec::new(),
            next_id: 1,
            max_missed,
            window: window.max(1),
        }
    }

    /// Matches the `faces` of the next analysed frame to tracks, each with its emotion
    /// probabilities; returns each face's track id and smoothed probabilities, in the
    /// faces' order. Faces matching no track start one; tracks matching no face wait up to
    /// `max_missed` frames.
    pub fn update(&mut self, faces: &[(FaceBox, Vec<f32>)]) -> Vec<(u64, Vec<f32>)> {
        let assignment = self.assign(faces);
        let mut matched = vec![false; self.tracks.len()];
        let mut out = Vec::with_capacity(faces.len());
        for ((face, emotions), track) in faces.iter().zip(assignment) {
            let index = match track {
                Some(index) => {
                    matched[index] = true;
                    let track = &mut self.tracks[index];
                    let (old, new) = (centre(&track.last), centre(face));
                    let steps = (track.missed + 1) as f32;
                    track.velocity = [(new[0] - old[0]) / steps, (new[1] - old[1]) / steps];
                    track.last = *face;
                    track.missed = 0;
                    index
                }
                None => {
                    self.tracks.push(Track {
                        id: self.next_id,
                        last: *face,
                        velocity: [0.0, 0.0],
                        missed: 0,
                        emotions: VecDeque::new(),
                    });
                    self.next_id += 1;
                    self.tracks.len() - 1
                }
            };
            let track = &mut self.tracks[index];
            if track.emotions.len() == self.window {
                track.emotions.pop_front();
            }
            track.emotions.push_back(emotions.clone());
            out.push((track.id, mean(&track.emotions)));
        }
        for (track, matched) in self.tracks.iter_mut().zip(matched) {
            if !matched {
                track.missed += 1;
            }
        }
        let max_missed = self.max_missed;
        // New tracks sit past the end of `matched` and were just seen.
        self.tracks.retain(|t| t.missed <= max_missed);
        out
    }

    /// The track each face continues, if any: greedily by overlap with the tracks'
    /// predicted boxes, then by centre distance for faces that moved too far to overlap.
    fn assign(&self, faces: &[(FaceBox, Vec<f32>)]) -> Vec<Option<usize>> {
        let predicted: Vec<FaceBox> = self.tracks.iter().map(Track::predicted).collect();
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (f, (face, _)) in faces.iter().enumerate() {
            for (t, guess) in predicted.iter().enumerate() {
                let iou = face.iou(guess);
                if iou >= MIN_IOU {
                    pairs.push((2.0 + iou, f, t));
                    continue;
                }
                let (a, b) = (centre(face), centre(guess));
                let distance = (a[0] - b[0]).hypot(a[1] - b[1]) / face.width.max(guess.width);
                if distance <= MAX_CENTRE_DISTANCE {
                    pairs.push((1.0 - distance, f, t));
                }
            }
        }
        // Best first; overlap (scores above 2) always beats distance (at most 1).
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut assignment = vec![None; faces.len()];
        let mut taken = vec![false; self.tracks.len()];
        for (_, f, t) in pairs {
            if assignment[f].is_none() && !taken[t] {
                assignment[f] = Some(t);
                taken[t] = true;
            }
        }
        assignment
    }
}

/// The element-wise mean of equally long vectors.
fn mean(vectors: &VecDeque<Vec<f32>>) -> Vec<f32> {
    let mut sum = vec![0.0; vectors.front().map_or(0, Vec::len)];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    let n = vectors.len().max(1) as f32;
    sum.iter().map(|s| s / n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32) -> (FaceBox, Vec<f32>) {
        let face = FaceBox {
            x,
            y,
            width: 50.0,
            height: 50.0,
            confidence: 0.9,
        };
        (face, vec![1.0, 0.0])
    }

    fn ids(tracker: &mut Tracker, faces: &[(FaceBox, Vec<f32>)]) -> Vec<u64> {
        tracker
            .update(faces)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    #[test]
    fn a_moving_face_keeps_its_id_and_a_new_one_gets_the_next() {
        let mut tracker = Tracker::new(3, 1);
        assert_eq!(ids(&mut tracker, &[face(0.0, 0.0)]), [1]);
        assert_eq!(ids(&mut tracker, &[face(10.0, 5.0)]), [1]);
        assert_eq!(
            ids(&mut tracker, &[face(300.0, 0.0), face(20.0, 10.0)]),
            [2, 1]
        );
    }

    #[test]
    fn a_track_survives_short_misses_and_ends_after_long_ones() {
        let mut tracker = Tracker::new(2, 1);
        ids(&mut tracker, &[face(0.0, 0.0)]);
        ids(&mut tracker, &[]);
        ids(&mut tracker, &[]);
        assert_eq!(
            ids(&mut tracker, &[face(0.0, 0.0)]),
            [1],
            "two misses: kept"
        );
        for _ in 0..3 {
            ids(&mut tracker, &[]);
        }
        assert_eq!(
            ids(&mut tracker, &[face(0.0, 0.0)]),
            [2],
            "three misses: a new track"
        );
    }

    #[test]
    fn faces_crossing_keep_their_ids() {
        // Two faces move towards each other 20 px a frame, cross, and go on.
        let mut tracker = Tracker::new(3, 1);
        let mut seen = Vec::new();
        for step in 0..12 {
            let s = step as f32 * 20.0;
            let left = face(s, 0.0);
            let right = face(240.0 - s, 30.0);
            // The detector's order is not the tracks' order.
            let order = if step % 2 == 0 {
                [left, right]
            } else {
                [right, left]
            };
            let got = ids(&mut tracker, &order);
            seen.push(if step % 2 == 0 {
                got
            } else {
                vec![got[1], got[0]]
            });
        }
        assert!(seen.iter().all(|ids| ids == &[1, 2]), "{seen:?}");
    }

    #[test]
    fn emotions_are_averaged_over_the_window() {
        let mut tracker = Tracker::new(3, 2);
        let (f, _) = face(0.0, 0.0);
        tracker.update(&[(f, vec![1.0, 0.0])]);
        let out = tracker.update(&[(f, vec![0.0, 1.0])]);
        assert_eq!(out[0].1, [0.5, 0.5]);
        let out = tracker.update(&[(f, vec![0.0, 1.0])]);
        assert_eq!(out[0].1, [0.0, 1.0], "the oldest left the window");
    }

    proptest::proptest! {
        #![proptest_config(mien_core::fuzzing::cases(64))]

        /// Whatever the boxes, every face gets an id, ids within a frame differ, and ids
        /// only grow for new tracks.
        #[test]
        fn ids_within_a_frame_are_distinct(
            frames in proptest::collection::vec(
                proptest::collection::vec((0.0f32..500.0, 0.0f32..500.0), 0..5),
                1..20,
            )
        ) {
            let mut tracker = Tracker::new(2, 3);
            for boxes in frames {
                let faces: Vec<_> = boxes.iter().map(|&(x, y)| face(x, y)).collect();
                let got = ids(&mut tracker, &faces);
                proptest::prop_assert_eq!(got.len(), faces.len());
                let mut unique = got.clone();
                unique.sort_unstable();
                unique.dedup();
                proptest::prop_assert_eq!(unique.len(), got.len());
            }
        }
    }
}
