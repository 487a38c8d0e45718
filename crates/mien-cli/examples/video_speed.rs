//! How fast `mien video` reads a 640×480 H.264 clip, with 1, 2 and 3 faces, without and with
//! the annotated output. Makes its clips (10 s at 30 frames/s) in a temporary folder first.
//!
//! ```text
//! cargo run --release -p mien-cli --example video_speed [-- --seconds 10]
//! ```

#[path = "common/clip.rs"]
mod clip;

use std::process::ExitCode;

use clap::Parser;
use mien::video::VideoOptions;

/// Time `mien video` on synthetic clips.
#[derive(Debug, Parser)]
struct Args {
    /// Length of each clip in seconds (at 30 frames/s).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("mien-video-speed-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let analyzer = match mien::Analyzer::new() {
        Ok(analyzer) => analyzer,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let frames = args.seconds * 30;
    println!("640×480 H.264, {frames} frames at 30 frames/s; analysed frames/s including decoding");
    for faces in 1..=3 {
        let clip = dir.join(format!("faces{faces}.mp4"));
        clip::make_clip(&clip, frames, 30.0, faces, 0);
        for annotate in [false, true] {
            let out = dir.join(format!("out{faces}{annotate}"));
            let options = VideoOptions::default();
            match mien_cli::video::run(&analyzer, &clip, &out, &options, annotate, true) {
                Ok(summary) => println!(
                    "  {faces} face{}, {}: {:.1} frames/s ({} frames in {:.2} s; {:.2} faces \
                     a frame found, {} tracks)",
                    if faces == 1 { "" } else { "s" },
                    if annotate {
                        "annotated.mp4 written"
                    } else {
                        "results only"
                    },
                    summary.frames as f64 / summary.seconds,
                    summary.frames,
                    summary.seconds,
                    summary.faces as f64 / summary.analysed.max(1) as f64,
                    summary.tracks
                ),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    ExitCode::SUCCESS
}
