//! Writes a photo as a Y4M video (I420, 640×480) for Chromium's fake webcam
//! (`--use-file-for-fake-video-capture=<file.y4m>`), which the browser test uses.
//!
//! ```text
//! cargo run -p mien-web --example fake_camera -- fixtures/astronaut.jpg target/e2e/camera.y4m
//! ```

#[path = "common/frame.rs"]
mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use image::RgbImage;

/// Turn a photo into a short Y4M clip for a fake webcam.
#[derive(Debug, Parser)]
struct Args {
    /// The photo.
    photo: PathBuf,
    /// The .y4m file to write.
    out: PathBuf,
    /// Frames in the clip (Chromium loops it).
    #[arg(long, default_value_t = 2)]
    frames: u32,
}

/// BT.601 studio-swing Y'CbCr 4:2:0: full-resolution luma, chroma averaged over 2×2 blocks.
fn i420(frame: &RgbImage) -> Vec<u8> {
    let (width, height) = frame.dimensions();
    let rgb = |x: u32, y: u32| frame.get_pixel(x, y).0.map(f32::from);
    let mut out = Vec::with_capacity((width * height * 3 / 2) as usize);
    for y in 0..height {
        for x in 0..width {
            let [r, g, b] = rgb(x, y);
            out.push((16.0 + 0.257 * r + 0.504 * g + 0.098 * b).round() as u8);
        }
    }
    let mut cb = Vec::with_capacity((width * height / 4) as usize);
    let mut cr = Vec::with_capacity(cb.capacity());
    for y in (0..height).step_by(2) {
        for x in (0..width).step_by(2) {
            let mut sum = [0.0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = rgb((x + dx).min(width - 1), (y + dy).min(height - 1));
                sum.iter_mut().zip(p).for_each(|(s, v)| *s += v / 4.0);
            }
            let [r, g, b] = sum;
            cb.push((128.0 - 0.148 * r - 0.291 * g + 0.439 * b).round() as u8);
            cr.push((128.0 + 0.439 * r - 0.368 * g - 0.071 * b).round() as u8);
        }
    }
    out.extend(cb);
    out.extend(cr);
    out
}

fn run(args: &Args) -> Result<(), String> {
    let photo = mien::open_image(&args.photo).map_err(|e| e.to_string())?;
    let frame = common::webcam_frame(&photo);
    let (width, height) = common::FRAME;
    let planes = i420(&frame);
    let mut out = format!("YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..args.frames.max(1) {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&planes);
    }
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&args.out, out).map_err(|e| format!("{}: {e}", args.out.display()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
