//! The `ffmpeg` and `ffprobe` programs: what a video holds, its frames as RGB, and a video
//! written from RGB frames.

use std::io::{BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use image::RgbImage;

use super::VideoError;

/// The most of a program's error output kept for a message.
const STDERR_KEPT: usize = 2_000;

/// What `ffprobe` says of a video's first video stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Width of the decoded (upright) frames.
    pub width: u32,
    /// Height of the decoded (upright) frames.
    pub height: u32,
    /// Average frame rate (frames per second).
    pub fps: f64,
    /// Duration in seconds, when the container says.
    pub duration: Option<f64>,
    /// Rotation the file asks for (degrees, as stored); frames are decoded upright.
    pub rotation: i32,
    /// Whether the file has an audio stream.
    pub has_audio: bool,
}

/// Runs `program` with `args`, returning its standard output; a missing program and a
/// failure are [`VideoError`]s naming `path`.
fn run(program: &str, args: &[&std::ffi::OsStr], path: &Path) -> Result<Vec<u8>, VideoError> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(program, e))?;
    if !output.status.success() {
        return Err(VideoError::NotAVideo {
            path: path.to_owned(),
            message: tail(&String::from_utf8_lossy(&output.stderr)),
        });
    }
    Ok(output.stdout)
}

fn spawn_error(program: &str, error: std::io::Error) -> VideoError {
    if error.kind() == ErrorKind::NotFound {
        VideoError::FfmpegMissing {
            program: program.to_owned(),
        }
    } else {
        VideoError::Program {
            program: program.to_owned(),
            source: error,
        }
    }
}

/// The last [`STDERR_KEPT`] bytes of `text`, trimmed, on a character boundary.
fn tail(text: &str) -> String {
    let text = text.trim();
    let mut start = text.len().saturating_sub(STDERR_KEPT);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

/// The first line of `ffmpeg -version` (e.g. `ffmpeg version 5.1.8-0+deb12u1 …`): whether
/// videos can be read here, and with what.
///
/// # Errors
/// [`VideoError::FfmpegMissing`] when ffmpeg is not installed.
pub fn ffmpeg_version() -> Result<String, VideoError> {
    let stdout = run("ffmpeg", &["-version".as_ref()], Path::new("ffmpeg"))?;
    let text = String::from_utf8_lossy(&stdout);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// For tests that need ffmpeg: true when it is installed; otherwise prints one line saying
/// the calling test is skipped and returns false, or panics under `MIEN_REQUIRE_FFMPEG=1`.
#[doc(hidden)]
pub fn ffmpeg_for_tests() -> bool {
    if ffmpeg_version().is_ok() {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    assert!(
        !std::env::var("MIEN_REQUIRE_FFMPEG").is_ok_and(|v| v.trim() == "1"),
        "{test} needs the ffmpeg program (MIEN_REQUIRE_FFMPEG=1), which is not installed"
    );
    // Straight to the stream: the harness captures `eprintln!`, not this.
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: it needs the ffmpeg program (apt install ffmpeg)"
    );
    false
}

/// A rate written as `num/den` (`30000/1001`) or a number; `None` for `0/0` and junk.
fn rate(text: &str) -> Option<f64> {
    let value = match text.split_once('/') {
        Some((n, d)) => n.trim().parse::<f64>().ok()? / d.trim().parse::<f64>().ok()?,
        None => text.trim().parse().ok()?,
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

/// What the video at `path` holds (`ffprobe`).
///
/// # Errors
/// [`VideoError::FfmpegMissing`] without ffprobe, [`VideoError::NotAVideo`] for a file
/// ffprobe cannot read, [`VideoError::NoVideoStream`] for one without pictures (audio only).
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    let args: [&std::ffi::OsStr; 8] = [
        "-v".as_ref(),
        "error".as_ref(),
        "-show_streams".as_ref(),
        "-show_format".as_ref(),
        "-of".as_ref(),
        "json".as_ref(),
        "-i".as_ref(),
        path.as_os_str(),
    ];
    let stdout = run("ffprobe", &args, path)?;
    let json: serde_json::Value =
        serde_json::from_slice(&stdout).map_err(|e| VideoError::NotAVideo {
            path: path.to_owned(),
            message: format!("ffprobe's answer is not JSON: {e}"),
        })?;
    parse_probe(&json, path)
}

/// [`probe`]'s reading of ffprobe's JSON.
fn parse_probe(json: &serde_json::Value, path: &Path) -> Result<VideoInfo, VideoError> {
    let streams = json["streams"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let is = |stream: &serde_json::Value, kind: &str| stream["codec_type"] == kind;
    let video =
        streams
            .iter()
            .find(|s| is(s, "video"))
            .ok_or_else(|| VideoError::NoVideoStream {
                path: path.to_owned(),
            })?;
    let dimension = |key: &str| video[key].as_u64().and_then(|v| u32::try_from(v).ok());
    let (Some(width), Some(height)) = (dimension("width"), dimension("height")) else {
        return Err(VideoError::NoVideoStream {
            path: path.to_owned(),
        });
    };
    let fps = ["avg_frame_rate", "r_frame_rate"]
        .iter()
        .find_map(|key| video[*key].as_str().and_then(rate))
        .unwrap_or(25.0);
    let number = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    let duration = number(&video["duration"]).or_else(|| number(&json["format"]["duration"]));
    // ffmpeg 5 reports a display matrix's rotation in the side data; older files carry a
    // `rotate` tag.
    let rotation = video["side_data_list"]
        .as_array()
        .and_then(|list| list.iter().find_map(|d| d["rotation"].as_i64()))
        .or_else(|| video["tags"]["rotate"].as_str()?.parse().ok())
        .unwrap_or(0) as i32;
    let (width, height) = if rotation.rem_euclid(180) == 90 {
        (height, width)
    } else {
        (width, height)
    };
    Ok(VideoInfo {
        width,
        height,
        fps,
        duration,
        rotation,
        has_audio: streams.iter().any(|s| is(s, "audio")),
    })
}

/// The error output of a running program, gathered on a thread so that the program never
/// blocks on a full pipe.
struct ErrorOutput(Option<JoinHandle<String>>);

impl ErrorOutput {
    fn gather(child: &mut Child) -> Self {
        Self(child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut text = String::new();
                stderr.read_to_string(&mut text).ok();
                tail(&text)
            })
        }))
    }

    fn text(&mut self) -> String {
        self.0
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default()
    }
}

/// Frames of a video as 8-bit RGB, decoded upright by an `ffmpeg` child process at a
/// constant frame rate.
pub struct Decoder {
    path: PathBuf,
    child: Child,
    frames: BufReader<ChildStdout>,
    errors: ErrorOutput,
    width: u32,
    height: u32,
    decoded: u64,
    finished: bool,
}

impl Decoder {
    /// Starts decoding `path`, described by `info`, at `fps` frames per second (frames are
    /// dropped or repeated as ffmpeg's `fps` filter does; a variable frame rate becomes a
    /// constant one).
    ///
    /// # Errors
    /// [`VideoError::FfmpegMissing`] without ffmpeg.
    pub fn start(path: &Path, info: &VideoInfo, fps: f64) -> Result<Self, VideoError> {
        let mut child = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(path)
            .args(["-an", "-sn", "-vf", &format!("fps={fps}")])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error("ffmpeg", e))?;
        let errors = ErrorOutput::gather(&mut child);
        let frames = BufReader::with_capacity(
            (info.width as usize * info.height as usize * 3).clamp(1 << 16, 1 << 24),
            child.stdout.take().expect("stdout is piped"),
        );
        Ok(Self {
            path: path.to_owned(),
            child,
            frames,
            errors,
            width: info.width,
            height: info.height,
            decoded: 0,
            finished: false,
        })
    }

    /// Frames read so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// The next frame; `None` at the end of the video.
    ///
    /// # Errors
    /// [`VideoError::Decode`] when ffmpeg fails part-way (a truncated or damaged file),
    /// [`VideoError::NoFrames`] for a video without a single decodable frame.
    pub fn next_frame(&mut self) -> Option<Result<RgbImage, VideoError>> {
        if self.finished {
            return None;
        }
        let mut pixels = vec![0u8; self.width as usize * self.height as usize * 3];
        let filled = read_full(&mut self.frames, &mut pixels);
        if filled == pixels.len() {
            self.decoded += 1;
            return RgbImage::from_raw(self.width, self.height, pixels).map(Ok);
        }
        self.finished = true;
        let status = self.child.wait();
        let message = self.errors.text();
        if self.decoded == 0 {
            // Whether ffmpeg complained or not, the stream had nothing to show.
            return Some(Err(VideoError::NoFrames {
                path: self.path.clone(),
            }));
        }
        let failed = !status.is_ok_and(|s| s.success()) || filled > 0;
        failed.then(|| {
            Err(VideoError::Decode {
                path: self.path.clone(),
                frame: self.decoded,
                message: if message.is_empty() {
                    format!("ffmpeg stopped within frame {}", self.decoded)
                } else {
                    message
                },
            })
        })
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        if !self.finished {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    filled
}

/// An H.264 MP4 written from RGB frames by an `ffmpeg` child process, with the audio of
/// another file copied in (re-encoded as AAC) when it has any.
pub struct Encoder {
    path: PathBuf,
    child: Child,
    frames: Option<ChildStdin>,
    errors: ErrorOutput,
    width: u32,
    height: u32,
}

impl Encoder {
    /// Starts writing `out` at `fps` frames per second, frames of `width × height` (an odd
    /// side is padded by one pixel, as H.264 needs even sides); the audio of `audio_from` is
    /// kept when given.
    ///
    /// # Errors
    /// [`VideoError::FfmpegMissing`] without ffmpeg.
    pub fn start(
        out: &Path,
        width: u32,
        height: u32,
        fps: f64,
        audio_from: Option<&Path>,
    ) -> Result<Self, VideoError> {
        let mut command = Command::new("ffmpeg");
        command
            .args(["-nostdin", "-v", "error", "-y", "-f", "rawvideo"])
            .args(["-pix_fmt", "rgb24", "-s", &format!("{width}x{height}")])
            .args(["-r", &fps.to_string(), "-i", "-"]);
        if let Some(audio) = audio_from {
            command
                .arg("-i")
                .arg(audio)
                .args(["-map", "0:v", "-map", "1:a?"]);
            command.args(["-c:a", "aac", "-shortest"]);
        }
        command
            .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
            .args([
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            ])
            .arg(out);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error("ffmpeg", e))?;
        let errors = ErrorOutput::gather(&mut child);
        Ok(Self {
            path: out.to_owned(),
            frames: child.stdin.take(),
            child,
            errors,
            width,
            height,
        })
    }

    /// Appends one frame (of the size given to [`Encoder::start`]).
    ///
    /// # Errors
    /// [`VideoError::Encode`] when ffmpeg has stopped, or for a frame of another size.
    pub fn push(&mut self, frame: &RgbImage) -> Result<(), VideoError> {
        if frame.dimensions() != (self.width, self.height) {
            return Err(self.failed(format!(
                "a frame of {}×{} for a video of {}×{}",
                frame.width(),
                frame.height(),
                self.width,
                self.height
            )));
        }
        let written = match &mut self.frames {
            Some(stdin) => stdin.write_all(frame.as_raw()),
            None => Err(ErrorKind::BrokenPipe.into()),
        };
        written.map_err(|_| {
            self.frames = None;
            self.child.wait().ok();
            let message = self.errors.text();
            self.failed(message)
        })
    }

    /// Closes the video and waits for ffmpeg to finish writing it.
    ///
    /// # Errors
    /// [`VideoError::Encode`] when ffmpeg fails.
    pub fn finish(mut self) -> Result<(), VideoError> {
        drop(self.frames.take());
        let status = self.child.wait();
        let message = self.errors.text();
        if status.is_ok_and(|s| s.success()) {
            Ok(())
        } else {
            Err(self.failed(message))
        }
    }

    fn failed(&self, message: String) -> VideoError {
        VideoError::Encode {
            path: self.path.clone(),
            message,
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        if self.frames.take().is_some() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_ffprobe_writes_them() {
        assert_eq!(
            rate("30000/1001").map(|r| (r * 1000.0).round()),
            Some(29970.0)
        );
        assert_eq!(rate("25"), Some(25.0));
        assert_eq!(rate("0/0"), None);
        assert_eq!(rate("x"), None);
    }

    #[test]
    fn a_probe_reads_size_rate_rotation_and_audio() {
        let json = serde_json::json!({
            "streams": [
                {"codec_type": "video", "width": 640, "height": 480, "avg_frame_rate": "30/1",
                 "side_data_list": [{"rotation": -90}]},
                {"codec_type": "audio"}
            ],
            "format": {"duration": "2.5"}
        });
        let info = parse_probe(&json, Path::new("clip.mp4")).unwrap();
        assert_eq!((info.width, info.height), (480, 640), "turned upright");
        assert_eq!(info.fps, 30.0);
        assert_eq!(info.duration, Some(2.5));
        assert_eq!(info.rotation, -90);
        assert!(info.has_audio);
    }

    #[test]
    fn a_file_without_pictures_is_no_video() {
        let json = serde_json::json!({"streams": [{"codec_type": "audio"}]});
        let err = parse_probe(&json, Path::new("song.mp3")).unwrap_err();
        assert!(matches!(err, VideoError::NoVideoStream { .. }), "{err}");
        assert!(err.to_string().contains("song.mp3"), "{err}");
    }

    #[test]
    fn a_missing_program_says_to_install_ffmpeg() {
        let err = run("mien-no-such-ffprobe", &[], Path::new("clip.mp4")).unwrap_err();
        assert!(matches!(err, VideoError::FfmpegMissing { .. }), "{err}");
        assert!(err.to_string().contains("install ffmpeg"), "{err}");
    }

    #[test]
    fn error_output_keeps_its_end_on_a_character_boundary() {
        let text = "é".repeat(STDERR_KEPT);
        let kept = tail(&text);
        assert!(kept.len() <= STDERR_KEPT);
        assert!(kept.chars().all(|c| c == 'é'));
    }
}
