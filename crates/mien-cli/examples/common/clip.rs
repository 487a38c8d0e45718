//! Test clips made from the fixture photo, shared by `tests/video.rs` and the video speed
//! example.

use std::path::Path;

use image::{Rgb, RgbImage, imageops};
use mien::video::Encoder;

/// The fixture photo: one smiling face.
pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/astronaut.jpg");

/// Frame `i` of a 640×480 clip of `faces` faces (1–3) on a grey scene: the fixture face
/// moves right and grows, then back, 40 frames each way; from frame `enters` on its mirror
/// image sits at the top right; a third face, when asked for, sits at the bottom right
/// throughout. The faces never overlap.
pub fn frame(i: u32, face: &RgbImage, faces: usize, enters: u32) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(640, 480, Rgb([90, 100, 110]));
    let step = if (i / 40).is_multiple_of(2) {
        i % 40
    } else {
        40 - i % 40
    };
    let side = 150 + 2 * step;
    let first = imageops::resize(face, side, side, imageops::FilterType::Triangle);
    imageops::overlay(&mut canvas, &first, 20 + 4 * i64::from(step), 120);
    if faces >= 2 && i >= enters {
        let second = imageops::resize(face, 170, 170, imageops::FilterType::Triangle);
        imageops::overlay(&mut canvas, &imageops::flip_horizontal(&second), 455, 20);
    }
    if faces >= 3 {
        let third = imageops::resize(face, 190, 190, imageops::FilterType::Triangle);
        imageops::overlay(&mut canvas, &third, 430, 285);
    }
    canvas
}

/// Writes `frames` frames of [`frame`] at `fps` to `path` (the container from the
/// extension; H.264).
pub fn make_clip(path: &Path, frames: u32, fps: f64, faces: usize, enters: u32) {
    let face = mien::open_image(FIXTURE)
        .expect("the fixture photo")
        .to_rgb8();
    let mut encoder = Encoder::start(path, 640, 480, fps, None).expect("ffmpeg starts");
    for i in 0..frames {
        encoder
            .push(&frame(i, &face, faces, enters))
            .expect("ffmpeg takes the frame");
    }
    encoder.finish().expect("ffmpeg writes the clip");
}
