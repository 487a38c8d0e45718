//! `POST /api/video`: a short video → its faces' tracks, each with its best moment (the
//! face at its broadest smile) and its timeline.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use base64::Engine;
use mien::Emotion;
use mien::image::{self, RgbImage};
use mien::video::{TrackStats, TrackSummary, VideoError, VideoOptions};
use serde::Serialize;

use crate::{ApiError, AppState};

/// The longest video the page takes; longer ones are for `mien video`.
pub(crate) const MAX_VIDEO_SECONDS: f64 = 60.0;

/// Frames analysed per second of video (fewer when the video has fewer).
const ANALYSED_FPS: f64 = 10.0;

/// What `POST /api/video` answers.
#[derive(Debug, Serialize)]
pub struct VideoResult {
    /// Frame width (upright).
    pub width: u32,
    /// Frame height (upright).
    pub height: u32,
    /// Seconds of video read.
    pub duration: f64,
    /// Frames analysed, at `fps` a second.
    pub frames: u64,
    /// The rate frames were analysed at.
    pub fps: f64,
    /// One entry per face followed through the video.
    pub tracks: Vec<VideoTrack>,
    /// Set when the video ended in a damaged part: the results cover what came before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// One face followed through the video.
#[derive(Debug, Serialize)]
pub struct VideoTrack {
    /// When it was seen, its dominant emotion, mean and peak smile.
    #[serde(flatten)]
    pub summary: TrackSummary,
    /// The face at its peak smile, as a JPEG `data:` URL.
    pub best_moment: String,
    /// `[seconds, smile score, emotion]` for every analysed frame it was in.
    pub timeline: Vec<(f64, f32, Emotion)>,
}

/// `POST /api/video`: the video as the raw body or a multipart file field, up to the upload
/// limit and [`MAX_VIDEO_SECONDS`] long.
pub(crate) async fn analyze_video(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<VideoResult>, ApiError> {
    let (_, upload) = crate::analyze::read_upload(&state, request).await?;
    if upload.bytes.is_empty() {
        return Err(ApiError::empty_upload("video"));
    }
    let bytes = upload.bytes.clone();
    let result = state
        .run_analysis(move |analyzer| read_video(analyzer, &bytes))
        .await?;
    Ok(Json(result))
}

/// A video written to a temporary file for ffmpeg, removed when dropped.
struct TempVideo(PathBuf);

impl TempVideo {
    fn write(bytes: &[u8]) -> Result<Self, ApiError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "mien-web-{}-{}.video",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, bytes).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot store the upload for ffmpeg: {e}"),
            )
        })?;
        Ok(Self(path))
    }
}

impl Drop for TempVideo {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

/// The client's (422) or the server's (500) error for a video that could not be read.
fn video_error(error: VideoError) -> ApiError {
    match error {
        VideoError::FfmpegMissing { .. } | VideoError::Program { .. } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("this server cannot read videos: {error}"),
        ),
        // The file's name is the server's temporary one: say "the upload" instead.
        VideoError::NotAVideo { message, .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the upload is not a video ffmpeg can read: {message}"),
        ),
        VideoError::NoVideoStream { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the upload has no video stream (audio only?)",
        ),
        VideoError::NoFrames { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the upload's video stream holds no decodable frame",
        ),
        other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    }
}

/// The face around `b` (half a face width of margin), cut from `frame`.
fn face_crop(frame: &RgbImage, b: mien::FaceBox) -> RgbImage {
    let margin = b.width.max(b.height) / 2.0;
    let clamp = |v: f32, max: u32| (v.max(0.0) as u32).min(max.saturating_sub(1));
    let (x0, y0) = (
        clamp(b.x - margin, frame.width()),
        clamp(b.y - margin, frame.height()),
    );
    let (x1, y1) = (
        clamp(b.x + b.width + margin, frame.width()),
        clamp(b.y + b.height + margin, frame.height()),
    );
    image::imageops::crop_imm(frame, x0, y0, (x1 - x0).max(1), (y1 - y0).max(1)).to_image()
}

/// `image` as a JPEG `data:` URL.
pub(crate) fn jpeg_data_url(image: &RgbImage) -> String {
    let mut jpeg = Vec::new();
    let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(image)
        .is_ok();
    if !encoded {
        return String::new();
    }
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )
}

/// Reads the video in `bytes` at up to [`ANALYSED_FPS`] frames a second.
fn read_video(analyzer: &mien::Analyzer, bytes: &[u8]) -> Result<VideoResult, ApiError> {
    let file = TempVideo::write(bytes)?;
    let info = mien::video::probe(&file.0).map_err(video_error)?;
    if let Some(seconds) = info.duration.filter(|&d| d > MAX_VIDEO_SECONDS) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the video is {seconds:.0} s long; this page reads up to {MAX_VIDEO_SECONDS:.0} s \
                 (the `mien video` command reads any length)"
            ),
        ));
    }
    let options = VideoOptions {
        fps: Some(info.fps.min(ANALYSED_FPS)),
        ..VideoOptions::default()
    };
    let frames = analyzer
        .analyze_video(&file.0, &options)
        .map_err(video_error)?;
    let fps = frames.fps();
    let limit = (MAX_VIDEO_SECONDS * fps).ceil() as u64;
    let mut stats: BTreeMap<u64, TrackStats> = BTreeMap::new();
    let mut best: BTreeMap<u64, (f32, RgbImage)> = BTreeMap::new();
    let (mut analysed, mut warning) = (0u64, None);
    for frame in frames.take(limit as usize) {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error @ VideoError::Decode { .. }) if analysed > 0 => {
                warning = Some(video_error(error).message);
                break;
            }
            Err(error) => return Err(video_error(error)),
        };
        analysed += 1;
        for face in &frame.faces {
            stats
                .entry(face.track)
                .or_default()
                .add(frame.timestamp, face);
            let smile = face.analysis.smile.value();
            if best.get(&face.track).is_none_or(|(peak, _)| smile > *peak) {
                best.insert(
                    face.track,
                    (smile, face_crop(&frame.image, face.analysis.face)),
                );
            }
        }
    }
    let tracks = stats
        .iter()
        .map(|(&track, stats)| VideoTrack {
            summary: stats.summary(track),
            best_moment: best
                .get(&track)
                .map(|(_, crop)| jpeg_data_url(crop))
                .unwrap_or_default(),
            timeline: stats.points().to_vec(),
        })
        .collect();
    Ok(VideoResult {
        width: info.width,
        height: info.height,
        duration: analysed as f64 / fps,
        frames: analysed,
        fps,
        tracks,
        warning,
    })
}
