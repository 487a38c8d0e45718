//! `POST /api/video` over loopback, on clips the test encodes with the `ffmpeg` program
//! (without it the tests print one line and pass, unless `MIEN_REQUIRE_FFMPEG=1`).

use std::path::Path;

use mien::video::Encoder;
use mien_web::ServerConfig;
use serde_json::Value;

mod common;

use common::{SAMPLE, start};

/// `POST`s `body` to `/api/video`; the status and the JSON answer.
fn post_video(address: std::net::SocketAddr, body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("http://{address}/api/video"))
        .header("content-type", "video/mp4")
        .send(body)
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mien-web-video-{name}-{}.mp4", std::process::id()))
}

/// Twelve frames of the fixture photo at 6 frames/s, as MP4 bytes.
fn clip() -> Vec<u8> {
    let path = temp("clip");
    let photo = mien::open_image(SAMPLE).unwrap().to_rgb8();
    let mut encoder = Encoder::start(&path, photo.width(), photo.height(), 6.0, None).unwrap();
    for _ in 0..12 {
        encoder.push(&photo).unwrap();
    }
    encoder.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    bytes
}

#[test]
fn a_video_gives_its_tracks_best_moments_and_timelines() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let address = start(ServerConfig::default());
    let (status, video) = post_video(address, &clip());
    assert_eq!(status, 200, "{video}");
    assert_eq!(video["frames"], 12);
    assert_eq!(video["fps"], 6.0);
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(512), Some(512))
    );
    let tracks = video["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1, "{video}");
    let track = &tracks[0];
    assert_eq!(track["track"], 1);
    assert_eq!(track["dominant_emotion"], "happy");
    assert_eq!(track["timeline"].as_array().unwrap().len(), 12);
    let still = track["best_moment"].as_str().unwrap();
    assert!(
        still.starts_with("data:image/jpeg;base64,") && still.len() > 1000,
        "{still:.60}"
    );
}

#[test]
fn bad_and_long_videos_get_json_errors() {
    if !mien::video::ffmpeg_for_tests() {
        return;
    }
    let address = start(ServerConfig::default());
    let (status, answer) = post_video(address, b"not a video at all");
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("not a video"),
        "{answer}"
    );
    let (status, _) = post_video(address, b"");
    assert_eq!(status, 400);

    // 61 s of a small test pattern at 1 frame/s.
    let long = temp("long");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=1:duration=61",
        ])
        .args(["-pix_fmt", "yuv420p", "-y"])
        .arg(&long)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&long).unwrap();
    std::fs::remove_file(Path::new(&long)).ok();
    let (status, answer) = post_video(address, &bytes);
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("mien video"),
        "{answer}"
    );
}
