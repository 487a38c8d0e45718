//! `mien video` on clips the tests make from the fixture photo: one face moving and growing,
//! a second entering halfway; and the bad inputs a user can give it.
//!
//! The clips are encoded with the `ffmpeg` program. Without it these tests print one line
//! and pass, unless `MIEN_REQUIRE_FFMPEG=1` (CI sets it) makes that a failure
//! (`mien::video::ffmpeg_for_tests`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mien::Analyzer;
use mien::video::{VideoError, VideoOptions, probe};
use mien_cli::video::{VideoRunError, run};

#[path = "../examples/common/clip.rs"]
mod clip;

const FPS: f64 = 8.0;
const FRAMES: u32 = 24;
/// The frame the second face enters.
const ENTERS: u32 = 12;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mien-video-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| Analyzer::new().unwrap())
}

/// Writes the test clip (H.264, 8 frames/s, 3 s; the second face enters at 1.5 s).
fn make_clip(path: &Path) {
    clip::make_clip(path, FRAMES, FPS, 2, ENTERS);
}

fn options() -> VideoOptions {
    VideoOptions {
        smoothing: 1,
        ..VideoOptions::default()
    }
}

#[test]
fn a_clip_gives_every_frame_two_stable_tracks_and_all_the_files() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("clip");
    let clip = dir.join("clip.mp4");
    make_clip(&clip);
    let out = dir.join("results");
    let summary = run(analyzer(), &clip, &out, &options(), true, true).unwrap();
    assert_eq!(summary.frames, u64::from(FRAMES));
    assert_eq!(summary.analysed, u64::from(FRAMES));
    assert_eq!(summary.tracks, 2);

    let mut csv = csv::Reader::from_path(out.join("frames.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (frame_at, time_at, track_at) = (column("frame"), column("time_s"), column("track"));
    let mut tracks_by_frame = vec![Vec::new(); FRAMES as usize];
    for row in csv.records() {
        let row = row.unwrap();
        let frame: usize = row[frame_at].parse().unwrap();
        let time: f64 = row[time_at].parse().unwrap();
        assert!(
            (time - frame as f64 / FPS).abs() < 1e-3,
            "frame {frame} at {time} s"
        );
        tracks_by_frame[frame].push(row[track_at].parse::<u64>().unwrap());
    }
    for (frame, tracks) in tracks_by_frame.iter_mut().enumerate() {
        tracks.sort_unstable();
        let expected: &[u64] = if frame < ENTERS as usize {
            &[1]
        } else {
            &[1, 2]
        };
        assert_eq!(tracks, expected, "frame {frame}");
    }

    let tracks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tracks.json")).unwrap()).unwrap();
    let tracks = tracks.as_array().unwrap();
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0]["first_seconds"], 0.0);
    assert_eq!(tracks[0]["frames"], u64::from(FRAMES));
    assert_eq!(tracks[1]["first_seconds"], f64::from(ENTERS) / FPS);
    assert_eq!(tracks[1]["frames"], u64::from(FRAMES - ENTERS));
    for track in tracks {
        assert_eq!(track["dominant_emotion"], "happy", "{track}");
        let peak = track["peak_smile"].as_f64().unwrap();
        assert!(
            peak >= track["mean_smile"].as_f64().unwrap() && peak > 5.0,
            "{track}"
        );
    }

    let timeline = image::open(out.join("timeline.png")).unwrap();
    assert_eq!((timeline.width(), timeline.height()), (1000, 420));
    let annotated = probe(&out.join("annotated.mp4")).unwrap();
    assert_eq!((annotated.width, annotated.height), (640, 480));
    assert!((annotated.fps - FPS).abs() < 1e-6, "{annotated:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_nth_frame_and_a_lower_rate_analyse_fewer_frames() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("fewer");
    let clip = dir.join("clip.mp4");
    make_clip(&clip);
    let every = VideoOptions {
        every: 3,
        ..options()
    };
    let summary = run(analyzer(), &clip, &dir.join("every"), &every, false, true).unwrap();
    assert_eq!((summary.frames, summary.analysed), (24, 8));
    let slower = VideoOptions {
        fps: Some(4.0),
        ..options()
    };
    let summary = run(analyzer(), &clip, &dir.join("fps"), &slower, false, true).unwrap();
    assert_eq!((summary.frames, summary.analysed), (12, 12));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_files_are_clear_errors_naming_them() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("bad");
    let out = dir.join("results");
    let error = |path: &Path| run(analyzer(), path, &out, &options(), false, true).unwrap_err();

    let missing = dir.join("missing.mp4");
    assert!(matches!(
        error(&missing),
        VideoRunError::Video(VideoError::NotAVideo { .. })
    ));

    let text = dir.join("notes.mp4");
    std::fs::write(&text, "this is not a video").unwrap();
    let err = error(&text);
    assert!(
        matches!(err, VideoRunError::Video(VideoError::NotAVideo { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("notes.mp4"), "{err}");

    // A WAV file: a stream, but no pictures.
    let sound = dir.join("tone.wav");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=0.5",
            "-y",
        ])
        .arg(&sound)
        .status()
        .unwrap();
    assert!(made.success());
    let err = error(&sound);
    assert!(
        matches!(err, VideoRunError::Video(VideoError::NoVideoStream { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("no video stream"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_truncated_video_keeps_the_frames_before_the_damage() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("truncated");
    // MPEG-TS, which can be read up to where it is cut (an MP4 keeps its index at the end).
    let clip = dir.join("clip.ts");
    make_clip(&clip);
    let bytes = std::fs::read(&clip).unwrap();
    let cut = dir.join("cut.ts");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.join("results");
    let frames = match run(analyzer(), &cut, &out, &options(), false, true) {
        Ok(summary) => summary.frames,
        Err(VideoRunError::Stopped { frames, .. }) => frames,
        Err(other) => panic!("expected the first frames, got {other}"),
    };
    assert!((1..u64::from(FRAMES)).contains(&frames), "{frames} frames");
    let rows = csv::Reader::from_path(out.join("frames.csv"))
        .unwrap()
        .records()
        .count();
    assert!(rows as u64 >= frames, "{rows} rows for {frames} frames");
    assert!(out.join("tracks.json").exists() && out.join("timeline.png").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_variable_frame_rate_is_read_at_a_constant_one() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("vfr");
    let clip = dir.join("vfr.mkv");
    // 20 frames at 10 frames/s with a one-second pause after the tenth: 3 s of video.
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
        ])
        .args(["-frames:v", "20", "-vf"])
        .arg("setpts='if(lt(N,10),N,N+10)/10/TB'")
        .args(["-fps_mode", "vfr", "-y"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success());
    let summary = run(analyzer(), &clip, &dir.join("out"), &options(), false, true).unwrap();
    let info = probe(&clip).unwrap();
    let expected = info.duration.unwrap() * info.fps;
    assert!(
        (summary.frames as f64 - expected).abs() <= 2.0,
        "{} frames for {:.2} s at {:.2} frames/s",
        summary.frames,
        info.duration.unwrap(),
        info.fps
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs ffmpeg with `args` then `out`; it must succeed.
fn make(args: &[&str], out: &Path) {
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?} {}", out.display());
}

/// Ten frames of a 64×48 test pattern at 10 frames/s.
const PATTERN: [&str; 6] = [
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=64x48:rate=10",
    "-frames:v",
    "10",
];

#[test]
fn webm_mov_and_avi_are_read_and_rotation_is_honoured() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("formats");
    for (name, codec) in [
        ("clip.webm", "libvpx-vp9"),
        ("clip.mov", "libx264"),
        ("clip.avi", "mpeg4"),
    ] {
        let path = dir.join(name);
        make(
            &[&PATTERN[..], &["-c:v", codec, "-pix_fmt", "yuv420p"]].concat(),
            &path,
        );
        let out = dir.join(format!("out-{name}"));
        let summary = run(analyzer(), &path, &out, &options(), false, true).unwrap();
        assert_eq!(summary.frames, 10, "{name}");
    }
    // A phone's portrait video: landscape pixels and a display matrix turning them.
    let plain = dir.join("plain.mp4");
    make(&[&PATTERN[..], &["-pix_fmt", "yuv420p"]].concat(), &plain);
    let rotated = dir.join("rotated.mp4");
    make(
        &[
            "-i",
            plain.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
        &rotated,
    );
    let info = probe(&rotated).unwrap();
    assert_eq!((info.width, info.height, info.rotation.abs()), (48, 64, 90));
    let first = analyzer()
        .analyze_video(&rotated, &options())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(first.image.dimensions(), (48, 64), "decoded upright");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_video_without_frames_is_a_clear_error() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("empty");
    // An AVI keeps its (empty) video stream where other containers drop it.
    let empty = dir.join("empty.avi");
    make(&[&PATTERN[..4], &["-frames:v", "0"]].concat(), &empty);
    let err = run(
        analyzer(),
        &empty,
        &dir.join("out"),
        &options(),
        false,
        true,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            VideoRunError::Video(VideoError::NoVideoStream { .. } | VideoError::NoFrames { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("empty.avi"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_annotated_video_keeps_the_audio_and_the_frame_rate() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let dir = temp("audio");
    let clip = dir.join("talk.mp4");
    // Two seconds of the fixture photo at 12 frames/s with a tone.
    make(
        &[
            "-loop",
            "1",
            "-framerate",
            "12",
            "-i",
            clip::FIXTURE,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
            "-shortest",
        ],
        &clip,
    );
    assert!(probe(&clip).unwrap().has_audio);
    let out = dir.join("out");
    let summary = run(analyzer(), &clip, &out, &options(), true, true).unwrap();
    assert_eq!(summary.tracks, 1);
    let annotated = probe(&out.join("annotated.mp4")).unwrap();
    assert!(annotated.has_audio, "the audio is kept");
    assert_eq!(annotated.fps, 12.0);
    std::fs::remove_dir_all(&dir).ok();
}
