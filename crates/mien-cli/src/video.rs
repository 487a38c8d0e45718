//! `mien video`: a video in, per-frame results, tracks, a timeline and an annotated copy out.
//!
//! | file | what |
//! | --- | --- |
//! | `frames.csv` | one row per face per analysed frame: frame, time, track, box, emotion (smoothed), every emotion's probability, smile, eyes open |
//! | `tracks.json` | one entry per track: first and last time, dominant emotion, mean and peak smile, the time of the peak (the best moment for a still) |
//! | `timeline.png` | each track's smile score over time, its points coloured by emotion |
//! | `annotated.mp4` | with `--annotate`: the video with boxes, track ids, emotions and smiles drawn, the audio kept |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;

use mien::video::{
    Encoder, TrackStats, TrackSummary, TrackedFace, VideoError, VideoFrame, VideoOptions,
};
use mien::{Analyzer, Emotion, LabelSet};

use crate::annotate::draw_faces;

/// What went wrong in `mien video`.
#[derive(Debug, thiserror::Error)]
pub enum VideoRunError {
    /// The video could not be opened, read or written.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The video stopped part-way; what came before it was written.
    #[error("{source}; the results of the {frames} frames before it are in {}", out.display())]
    Stopped {
        /// Frames analysed and written.
        frames: u64,
        /// The results folder.
        out: PathBuf,
        /// Why decoding stopped.
        source: VideoError,
    },
    /// A results file could not be written.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// What a run wrote, for the command to report.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoSummary {
    /// Frames decoded.
    pub frames: u64,
    /// Frames analysed.
    pub analysed: u64,
    /// Faces read in the analysed frames (rows of `frames.csv`).
    pub faces: u64,
    /// Tracks found.
    pub tracks: usize,
    /// Seconds spent, and so frames per second.
    pub seconds: f64,
}

/// The columns of `frames.csv` for a model reading `label_set`.
pub fn csv_header(label_set: LabelSet) -> Vec<String> {
    let mut header: Vec<String> = [
        "frame",
        "time_s",
        "track",
        "x",
        "y",
        "width",
        "height",
        "detector_confidence",
        "emotion",
        "probability",
    ]
    .map(String::from)
    .to_vec();
    header.extend(label_set.emotions().iter().map(|e| format!("p_{e}")));
    header.extend(["smile", "smile_level", "eyes_open"].map(String::from));
    header
}

/// The rows of `frames.csv` for one analysed frame.
fn csv_rows(frame: &VideoFrame) -> impl Iterator<Item = Vec<String>> + '_ {
    let number = |v: f32| format!("{v:.4}");
    frame.faces.iter().map(move |face| {
        let b = face.analysis.face;
        let mut row = vec![
            frame.index.to_string(),
            format!("{:.4}", frame.timestamp),
            face.track.to_string(),
            number(b.x),
            number(b.y),
            number(b.width),
            number(b.height),
            number(b.confidence),
            face.emotion.to_string(),
            number(face.emotions.get(face.emotion).unwrap_or(0.0)),
        ];
        row.extend(face.emotions.as_slice().iter().map(|&p| number(p)));
        row.push(number(face.analysis.smile.value()));
        row.push(face.analysis.smile_level.name().to_owned());
        row.push(face.analysis.eyes_open.map(number).unwrap_or_default());
        row
    })
}

/// The label drawn over a tracked face: `#2 happy 93% smile 8.7`.
fn label(face: &TrackedFace) -> String {
    format!(
        "#{} {} {:.0}% smile {:.1}",
        face.track,
        face.emotion,
        100.0 * face.emotions.get(face.emotion).unwrap_or(0.0),
        face.analysis.smile.value()
    )
}

/// Analyses the video at `input` into `out` (created if missing): `frames.csv`,
/// `tracks.json`, `timeline.png` and, with `annotate`, `annotated.mp4`. Shows a progress bar
/// unless `quiet`.
///
/// # Errors
/// [`VideoRunError::Video`] when the video cannot be opened,
/// [`VideoRunError::Stopped`] after writing the results of the frames before a damaged part,
/// [`VideoRunError::Write`] when a results file cannot be written.
pub fn run(
    analyzer: &Analyzer,
    input: &Path,
    out: &Path,
    options: &VideoOptions,
    annotate: bool,
    quiet: bool,
) -> Result<VideoSummary, VideoRunError> {
    let started = std::time::Instant::now();
    let mut frames = analyzer.analyze_video(input, options)?;
    std::fs::create_dir_all(out).map_err(|e| write_error(out, &e))?;
    let csv_path = out.join("frames.csv");
    let mut csv = csv::Writer::from_path(&csv_path).map_err(|e| write_error(&csv_path, &e))?;
    csv.write_record(csv_header(analyzer.label_set()))
        .map_err(|e| write_error(&csv_path, &e))?;
    let info = frames.info().clone();
    let fps = frames.fps();
    let mut encoder = if annotate {
        let audio = info.has_audio.then_some(input);
        let path = out.join("annotated.mp4");
        Some(Encoder::start(&path, info.width, info.height, fps, audio)?)
    } else {
        None
    };
    let progress = progress_bar(info.duration.map(|d| (d * fps).round() as u64), quiet);
    let mut tallies: BTreeMap<u64, TrackStats> = BTreeMap::new();
    let (mut decoded, mut analysed, mut faces) = (0u64, 0u64, 0u64);
    let mut stopped = None;
    for frame in &mut frames {
        let mut frame = match frame {
            Ok(frame) => frame,
            Err(error) => {
                stopped = Some(error);
                break;
            }
        };
        decoded += 1;
        progress.inc(1);
        if frame.analysed {
            analysed += 1;
            faces += frame.faces.len() as u64;
            for row in csv_rows(&frame) {
                csv.write_record(&row)
                    .map_err(|e| write_error(&csv_path, &e))?;
            }
            for face in &frame.faces {
                tallies
                    .entry(face.track)
                    .or_default()
                    .add(frame.timestamp, face);
            }
        }
        if let Some(encoder) = &mut encoder {
            let faces = frame.faces.iter().map(|f| (&f.analysis, label(f)));
            draw_faces(&mut frame.image, faces, None);
            encoder.push(&frame.image)?;
        }
    }
    progress.finish_and_clear();
    csv.flush().map_err(|e| write_error(&csv_path, &e))?;
    let summaries: Vec<TrackSummary> = tallies.iter().map(|(&id, t)| t.summary(id)).collect();
    let tracks_path = out.join("tracks.json");
    let json =
        serde_json::to_string_pretty(&summaries).map_err(|e| write_error(&tracks_path, &e))?;
    std::fs::write(&tracks_path, json + "\n").map_err(|e| write_error(&tracks_path, &e))?;
    draw_timeline(&tallies, &out.join("timeline.png"))?;
    if let Some(encoder) = encoder {
        encoder.finish()?;
    }
    match stopped {
        Some(VideoError::NoFrames { path }) => Err(VideoError::NoFrames { path }.into()),
        Some(source) => Err(VideoRunError::Stopped {
            frames: decoded,
            out: out.to_owned(),
            source,
        }),
        None => Ok(VideoSummary {
            frames: decoded,
            analysed,
            faces,
            tracks: summaries.len(),
            seconds: started.elapsed().as_secs_f64(),
        }),
    }
}

fn write_error(path: &Path, error: &dyn std::fmt::Display) -> VideoRunError {
    VideoRunError::Write {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

/// A progress bar over `frames` (a spinner when the length is unknown) showing frames/s and
/// the time left; hidden when `quiet`.
fn progress_bar(frames: Option<u64>, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match frames {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} frames, {per_sec}, {eta} left",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// The font plotters draws text with: the DejaVu Sans Mono `annotate` bundles.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font bundled with the crate.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSansMono.ttf"),
        );
    });
}

/// A colour per emotion, the same in every timeline.
fn emotion_colour(emotion: Emotion) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 187, 0),
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(127, 127, 127),
        RGBColor(140, 86, 75),
    ];
    PALETTE[Emotion::ALL.iter().position(|&e| e == emotion).unwrap_or(0) % PALETTE.len()]
}

/// `timeline.png`: each track's smile score (1–10) over time, one line per track, its
/// points coloured by the (smoothed) emotion.
fn draw_timeline(tallies: &BTreeMap<u64, TrackStats>, path: &Path) -> Result<(), VideoRunError> {
    register_font();
    let (width, height) = (1000u32, 420u32);
    let end = tallies
        .values()
        .map(TrackStats::last_seconds)
        .fold(0.0f64, f64::max)
        .max(1e-3);
    let mut buffer = vec![0u8; (width * height * 3) as usize];
    let drawn: Result<(), String> = (|| {
        let e = |e: plotters::drawing::DrawingAreaErrorKind<_>| e.to_string();
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "smile score per track (points: emotion)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..end, 1.0f32..10.0f32)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("seconds")
            .y_desc("smile")
            .draw()
            .map_err(e)?;
        for (&track, tally) in tallies {
            let colour = Palette99::pick(track as usize).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    tally.points().iter().map(|&(t, s, _)| (t, s)),
                    colour.stroke_width(2),
                ))
                .map_err(e)?
                .label(format!("track {track}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            chart
                .draw_series(tally.points().iter().map(|&(t, s, emotion)| {
                    Circle::new((t, s), 3, emotion_colour(emotion).filled())
                }))
                .map_err(e)?;
        }
        for emotion in Emotion::ALL {
            let colour = emotion_colour(emotion);
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f32), i32>>())
                .map_err(e)?
                .label(emotion.to_string())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)
    })();
    drawn.map_err(|message| write_error(path, &message))?;
    let image = image::RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| write_error(path, &"the plot's buffer has the wrong size"))?;
    image.save(path).map_err(|e| write_error(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_every_emotion_of_the_label_set() {
        let header = csv_header(LabelSet::FerPlus);
        assert_eq!(header.len(), 10 + 8 + 3);
        assert!(header.contains(&"p_contempt".to_owned()), "{header:?}");
        assert_eq!(csv_header(LabelSet::Fer2013).len(), 10 + 7 + 3);
    }
}
