//! Videos: frames decoded by the `ffmpeg` program, analysed as they arrive, faces tracked
//! from frame to frame.
//!
//! ```no_run
//! let analyzer = mien::Analyzer::new()?;
//! let options = mien::video::VideoOptions::default();
//! for frame in analyzer.analyze_video("clip.mp4".as_ref(), &options)? {
//!     let frame = frame?;
//!     for face in &frame.faces {
//!         println!("{:.2} s: face {} is {}", frame.timestamp, face.track, face.emotion);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! mien drives the `ffmpeg` and `ffprobe` programs (they must be on `PATH`) rather than
//! linking ffmpeg's libraries: nothing to build, any ffmpeg the system has, and a damaged
//! file can only end that process. Frames are decoded upright (rotation metadata is
//! honoured) and at a constant rate (a variable frame rate is resampled).

mod ffmpeg;
mod tracker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use mien_core::{Emotion, EmotionProbabilities};
use serde::Serialize;

pub use ffmpeg::{Decoder, Encoder, VideoInfo, ffmpeg_for_tests, ffmpeg_version, probe};
pub use tracker::Tracker;

use crate::{Analysis, AnalyzeError, Analyzer};

/// What went wrong with a video; each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// `ffmpeg` or `ffprobe` is not installed.
    #[error(
        "mien reads and writes videos with the {program} program, which was not found: install \
         ffmpeg (apt install ffmpeg, brew install ffmpeg, or ffmpeg.org) and put it on PATH"
    )]
    FfmpegMissing {
        /// The program looked for.
        program: String,
    },
    /// `ffmpeg` or `ffprobe` could not be started.
    #[error("cannot run {program}: {source}")]
    Program {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is missing, not a video, or too damaged for ffprobe to read.
    #[error("{path} is not a video ffmpeg can read: {message}")]
    NotAVideo {
        /// The file.
        path: PathBuf,
        /// ffprobe's words.
        message: String,
    },
    /// The file has no video stream (audio only, or a still image format).
    #[error("{path} has no video stream")]
    NoVideoStream {
        /// The file.
        path: PathBuf,
    },
    /// The video stream holds no decodable frame.
    #[error("{path} holds no decodable frame")]
    NoFrames {
        /// The file.
        path: PathBuf,
    },
    /// Decoding stopped part-way; the frames before `frame` were delivered.
    #[error("{path}: decoding stopped at frame {frame} (a truncated or damaged file?): {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Frames delivered before the error.
        frame: u64,
        /// ffmpeg's words.
        message: String,
    },
    /// Writing a video failed.
    #[error("cannot write the video {path}: {message}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// ffmpeg's words.
        message: String,
    },
    /// A frame could not be analysed.
    #[error("{path}, frame {frame}: {source}")]
    Analyze {
        /// The file.
        path: PathBuf,
        /// The frame's index.
        frame: u64,
        /// What went wrong.
        source: Box<AnalyzeError>,
    },
}

/// How a video is read.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoOptions {
    /// Frames per second to decode at; `None`: the video's own (average) rate.
    pub fps: Option<f64>,
    /// Analyse every `every`-th decoded frame (1: all); the others are delivered with
    /// their faces carried over from the last analysed frame.
    pub every: u64,
    /// Analysed frames each track's emotion probabilities are averaged over (1: raw).
    pub smoothing: usize,
    /// Seconds a track survives without its face (looking away, a crossing face).
    pub track_memory_seconds: f64,
}

impl Default for VideoOptions {
    /// The video's own rate, every frame, emotions averaged over 5 analysed frames, tracks
    /// kept 1 s without their face.
    fn default() -> Self {
        Self {
            fps: None,
            every: 1,
            smoothing: 5,
            track_memory_seconds: 1.0,
        }
    }
}

/// One face of a frame, with its track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFace {
    /// The track's id: the same face keeps it from frame to frame (1, 2, … in order of
    /// appearance).
    pub track: u64,
    /// The face as the analyzer read it in its last analysed frame.
    pub analysis: crate::FaceAnalysis,
    /// Emotion probabilities averaged over the track's last frames
    /// ([`VideoOptions::smoothing`]).
    pub emotions: EmotionProbabilities,
    /// The most probable emotion after smoothing.
    pub emotion: Emotion,
}

/// One decoded frame.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// Position among the decoded frames, from 0.
    pub index: u64,
    /// Seconds from the start of the video.
    pub timestamp: f64,
    /// The picture, upright, 8-bit RGB.
    pub image: RgbImage,
    /// Whether this frame was analysed (every [`VideoOptions::every`]-th is); the faces of
    /// the others are those of the last analysed frame.
    pub analysed: bool,
    /// The faces, tracked.
    pub faces: Vec<TrackedFace>,
    /// The analysis of the whole frame (rating, size), for analysed frames.
    pub analysis: Option<Analysis>,
}

/// One entry of `tracks.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackSummary {
    /// The track's id (as in `frames.csv`).
    pub track: u64,
    /// Seconds from the start when the face first appeared.
    pub first_seconds: f64,
    /// … and when it was last seen.
    pub last_seconds: f64,
    /// Analysed frames in which it was seen.
    pub frames: u64,
    /// The emotion it showed in most of them (after smoothing).
    pub dominant_emotion: Emotion,
    /// Mean smile score.
    pub mean_smile: f32,
    /// Highest smile score …
    pub peak_smile: f32,
    /// … and when (the best moment to grab a still).
    pub peak_smile_seconds: f64,
}

/// A track's statistics, gathered frame by frame ([`TrackStats::add`]).
#[derive(Debug, Clone, Default)]
pub struct TrackStats {
    first: f64,
    last: f64,
    frames: u64,
    smile_sum: f64,
    peak: (f32, f64),
    emotions: BTreeMap<Emotion, u64>,
    /// `(time, smile, emotion)` for the timeline.
    points: Vec<(f64, f32, Emotion)>,
}

impl TrackStats {
    /// Counts `face`, seen `time` seconds into the video.
    pub fn add(&mut self, time: f64, face: &TrackedFace) {
        let smile = face.analysis.smile.value();
        if self.frames == 0 {
            self.first = time;
            self.peak = (smile, time);
        }
        self.last = time;
        self.frames += 1;
        self.smile_sum += f64::from(smile);
        if smile > self.peak.0 {
            self.peak = (smile, time);
        }
        *self.emotions.entry(face.emotion).or_default() += 1;
        self.points.push((time, smile, face.emotion));
    }

    /// Seconds into the video when the face was last seen.
    pub fn last_seconds(&self) -> f64 {
        self.last
    }

    /// `(seconds, smile score, smoothed emotion)` of every frame counted.
    pub fn points(&self) -> &[(f64, f32, Emotion)] {
        &self.points
    }

    /// The entry of track `track` in a summary.
    pub fn summary(&self, track: u64) -> TrackSummary {
        let dominant = self
            .emotions
            .iter()
            .max_by_key(|&(emotion, count)| (count, std::cmp::Reverse(*emotion)))
            .map_or(Emotion::Neutral, |(emotion, _)| *emotion);
        TrackSummary {
            track,
            first_seconds: self.first,
            last_seconds: self.last,
            frames: self.frames,
            dominant_emotion: dominant,
            mean_smile: (self.smile_sum / self.frames.max(1) as f64) as f32,
            peak_smile: self.peak.0,
            peak_smile_seconds: self.peak.1,
        }
    }
}

/// The frames of a video as they are decoded and analysed; see [`Analyzer::analyze_video`].
pub struct VideoFrames<'a> {
    analyzer: &'a Analyzer,
    path: PathBuf,
    info: VideoInfo,
    fps: f64,
    decoder: Decoder,
    tracker: Tracker,
    every: u64,
    last_faces: Vec<TrackedFace>,
    failed: bool,
}

impl VideoFrames<'_> {
    /// What ffprobe said of the video.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The rate frames are decoded at (frames per second).
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Analyses `image` (handed back unchanged) and updates the tracks.
    fn analyse(&mut self, index: u64, image: RgbImage) -> (RgbImage, Result<Analysis, VideoError>) {
        let photo = image::DynamicImage::ImageRgb8(image);
        let result = self.analyzer.analyze(&photo);
        let image = photo.into_rgb8();
        let analysis = match result {
            Ok(analysis) => analysis,
            Err(source) => {
                let error = VideoError::Analyze {
                    path: self.path.clone(),
                    frame: index,
                    source: Box::new(source),
                };
                return (image, Err(error));
            }
        };
        let faces: Vec<_> = analysis
            .faces
            .iter()
            .map(|f| (f.face, f.emotions.as_slice().to_vec()))
            .collect();
        let tracked = self.tracker.update(&faces);
        self.last_faces = analysis
            .faces
            .iter()
            .zip(tracked)
            .map(|(face, (track, smoothed))| {
                let label_set = face.emotions.label_set();
                let emotions = EmotionProbabilities::new(label_set, smoothed)
                    .unwrap_or_else(|_| face.emotions.clone());
                TrackedFace {
                    track,
                    analysis: face.clone(),
                    emotion: emotions.top().0,
                    emotions,
                }
            })
            .collect();
        (image, Ok(analysis))
    }
}

impl Iterator for VideoFrames<'_> {
    type Item = Result<VideoFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let index = self.decoder.decoded();
        let image = match self.decoder.next_frame()? {
            Ok(image) => image,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        let analysed = index.is_multiple_of(self.every);
        let (image, analysis) = if analysed {
            match self.analyse(index, image) {
                (image, Ok(analysis)) => (image, Some(analysis)),
                (_, Err(e)) => return Some(Err(e)),
            }
        } else {
            (image, None)
        };
        Some(Ok(VideoFrame {
            index,
            timestamp: index as f64 / self.fps,
            image,
            analysed,
            faces: self.last_faces.clone(),
            analysis,
        }))
    }
}

impl Analyzer {
    /// Decodes the video at `path` and analyses its frames as they arrive, tracking the
    /// faces; see the [`video`](crate::video) module.
    ///
    /// # Errors
    /// At the start: [`VideoError::FfmpegMissing`], [`VideoError::NotAVideo`],
    /// [`VideoError::NoVideoStream`]. The iterator then yields [`VideoError::NoFrames`]
    /// for an empty stream, or [`VideoError::Decode`] after the frames decoded before a
    /// damaged part, and ends.
    pub fn analyze_video(
        &self,
        path: &Path,
        options: &VideoOptions,
    ) -> Result<VideoFrames<'_>, VideoError> {
        let info = probe(path)?;
        let fps = options
            .fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .unwrap_or(info.fps);
        let every = options.every.max(1);
        let decoder = Decoder::start(path, &info, fps)?;
        let analysed_per_second = fps / every as f64;
        let memory = (options.track_memory_seconds * analysed_per_second).ceil() as usize;
        Ok(VideoFrames {
            analyzer: self,
            path: path.to_owned(),
            info,
            fps,
            decoder,
            tracker: Tracker::new(memory, options.smoothing),
            every,
            last_faces: Vec::new(),
            failed: false,
        })
    }
}
