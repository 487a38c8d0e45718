//! The `mien` command: read the faces in photos from a terminal.
//!
//! ```text
//! mien analyze fixtures/astronaut.jpg                  # a table
//! mien analyze photo.jpg --json                        # the Analysis as JSON
//! mien analyze photo.jpg --annotate annotated.png      # boxes, labels, scores drawn
//! mien analyze crop.png --whole-image                  # the image is one face
//! mien analyze photo.jpg --single-pass                 # each face read once, not mirrored too
//! mien analyze photo.jpg --landmarks --json            # with each face's 468-point mesh
//! mien batch photos/ --out results/                    # a folder: CSV, summary, annotated copies
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod batch;
use mien::{Analysis, Analyzer, Pretrained};

/// Find faces, read their expressions, score their smiles, rate the photo.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse photos: a table per photo, or JSON.
    Analyze {
        /// Photos (PNG or JPEG).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Print one JSON document: an array with one object per photo.
        #[arg(long)]
        json: bool,
        /// Write the first photo with boxes, labels and scores drawn to this PNG or JPEG.
        #[arg(long, value_name = "OUT")]
        annotate: Option<PathBuf>,
        #[command(flatten)]
        analyzer: AnalyzerArgs,
    },
    /// Analyse every .jpg/.jpeg/.png under a folder (recursively), in parallel: annotated
    /// copies, results.csv (one row per face) and summary.json; unreadable files are listed
    /// and skipped.
    Batch {
        /// The folder of photos.
        dir: PathBuf,
        /// Where results go (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Do not write annotated copies.
        #[arg(long)]
        no_annotate: bool,
        #[command(flatten)]
        analyzer: AnalyzerArgs,
    },
    /// Analyse a video (anything ffmpeg reads: mp4, webm, mov, avi, …) and track its faces:
    /// frames.csv (one row per face per analysed frame), tracks.json, timeline.png and,
    /// with --annotate, annotated.mp4. Needs the ffmpeg program.
    Video {
        /// The video file.
        input: PathBuf,
        /// Where results go (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Analyse every N-th frame only (the others are carried over in the annotated video).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        every: u64,
        /// Decode at this many frames per second instead of the video's own rate.
        #[arg(long)]
        fps: Option<f64>,
        /// Average each track's emotions over this many analysed frames (1: raw readings).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
        smooth: u64,
        /// Also write annotated.mp4: boxes, track ids, emotions and smiles drawn, audio kept.
        #[arg(long)]
        annotate: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        analyzer: AnalyzerArgs,
    },
    /// Give every face in a photo a stronger smile (or, with a negative strength, a weaker
    /// one) by warping the mouth corners, lips and cheeks; the rest of the photo is untouched.
    /// A photo without faces is written unchanged.
    Happier {
        /// The photo (PNG or JPEG).
        photo: PathBuf,
        /// The edited photo to write (PNG or JPEG, by extension).
        #[arg(long)]
        out: PathBuf,
        /// 1: a natural smile, 2: a broad one; below 0: less happy (−2 to 2).
        #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
        strength: f32,
    },
    /// Write a model as an ONNX file (opset 17, float32, dynamic batch) for other runtimes:
    /// input `image` [batch, C, H, W] as the model's preprocessing makes it (recorded in the
    /// file's metadata), outputs `probabilities` and/or `smile`.
    Export {
        /// A bundled model (ferplus-smile, default) or a .safetensors file saved by `train`.
        #[arg(long, default_value = "ferplus-smile")]
        model: String,
        /// The ONNX file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// How the photos are read, for every command.
#[derive(Args, Debug)]
struct AnalyzerArgs {
    /// Treat each image as one pre-cropped face (no detection).
    #[arg(long)]
    whole_image: bool,
    /// Bundled model: ferplus-smile (8 emotions + smile head) or default (7 emotions).
    #[arg(long, default_value = "ferplus-smile")]
    model: Pretrained,
    /// Read each face once instead of averaging it with its mirror image: half the
    /// classifier's time, 0.8–2 points less accurate (docs/models/).
    #[arg(long)]
    single_pass: bool,
    /// Add each face's 468-point mesh (MediaPipe's face landmarks) to the JSON and draw it
    /// on annotated images; a face too small or cut by the border says why it has none.
    #[arg(long)]
    landmarks: bool,
}

impl AnalyzerArgs {
    fn build(&self) -> Result<Analyzer, mien::AnalyzeError> {
        Analyzer::builder()
            .pretrained(self.model)
            .whole_image(self.whole_image)
            .mirror_average(!self.single_pass)
            .landmarks(self.landmarks)
            .build()
    }
}

/// One photo's outcome, for `--json`.
#[derive(serde::Serialize)]
struct PhotoResult {
    path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze {
            images,
            json,
            annotate,
            analyzer,
        } => analyze(&images, json, annotate, &analyzer),
        Command::Batch {
            dir,
            out,
            no_annotate,
            analyzer,
        } => match batch::run(&dir, &out, !no_annotate, &analyzer) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Video {
            input,
            out,
            every,
            fps,
            smooth,
            annotate,
            quiet,
            analyzer,
        } => {
            if fps.is_some_and(|f| !(f.is_finite() && f > 0.0 && f <= 1000.0)) {
                eprintln!("error: --fps must be a number of frames per second in (0, 1000]");
                return ExitCode::FAILURE;
            }
            let options = mien::video::VideoOptions {
                fps,
                every,
                smoothing: smooth as usize,
                ..Default::default()
            };
            video(&input, &out, &options, annotate, quiet, &analyzer)
        }
        Command::Happier {
            photo,
            out,
            strength,
        } => match happier(&photo, &out, strength) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Export { model, out } => match export(&model, &out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Makes the faces of `photo` happier by `strength` and writes the result to `out`.
fn happier(
    photo: &std::path::Path,
    out: &std::path::Path,
    strength: f32,
) -> Result<(), mien::AnalyzeError> {
    let analyzer = Analyzer::builder().eye_state(false).build()?;
    let image = mien::open_image(photo)?;
    let edit = analyzer.make_happier(&image, strength)?;
    edit.image
        .save(out)
        .map_err(|source| mien::AnalyzeError::WriteImage {
            path: out.to_owned(),
            source,
        })?;
    if edit.before.faces.is_empty() {
        println!(
            "{}: no faces; written unchanged to {}",
            photo.display(),
            out.display()
        );
        return Ok(());
    }
    println!(
        "{}: {} face{} made {} (strength {strength}) → {}",
        photo.display(),
        edit.before.faces.len(),
        if edit.before.faces.len() == 1 {
            ""
        } else {
            "s"
        },
        if strength >= 0.0 {
            "happier"
        } else {
            "less happy"
        },
        out.display()
    );
    for (i, (before, after)) in edit.smiles().into_iter().enumerate() {
        println!("  {:>2}  smile {before:.1} → {after:.1}", i + 1);
    }
    Ok(())
}

/// Loads `model` (a bundled name or a file) and writes it to `out` as ONNX.
fn export(model: &str, out: &std::path::Path) -> Result<(), mien::ModelError> {
    let device = mien::core::device::cpu();
    let saved = match model.parse::<Pretrained>() {
        Ok(pretrained) => pretrained.load(&device)?,
        Err(_) => mien::models::weights::load(model, &device)?,
    };
    let bytes = mien::models::onnx::export_to(&saved, out)?;
    let input = saved.spec.backbone.input();
    println!(
        "{}: {} ({:?} input {}×{}×{}) → {} ({:.1} MB, opset {})",
        model,
        saved.spec.backbone.architecture(),
        saved.spec.preprocessing.color,
        input.channels,
        input.height,
        input.width,
        out.display(),
        bytes as f64 / 1e6,
        mien::core::graph::onnx::OPSET,
    );
    Ok(())
}

fn video(
    input: &std::path::Path,
    out: &std::path::Path,
    options: &mien::video::VideoOptions,
    annotate: bool,
    quiet: bool,
    analyzer: &AnalyzerArgs,
) -> ExitCode {
    let analyzer = match analyzer.build() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match mien_cli::video::run(&analyzer, input, out, options, annotate, quiet) {
        Ok(summary) => {
            println!(
                "{}: {} frames ({} analysed) in {:.1} s, {:.1} frames/s; {} track{}; results in {}",
                input.display(),
                summary.frames,
                summary.analysed,
                summary.seconds,
                summary.frames as f64 / summary.seconds.max(1e-9),
                summary.tracks,
                if summary.tracks == 1 { "" } else { "s" },
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn analyze(
    images: &[PathBuf],
    json: bool,
    annotate: Option<PathBuf>,
    options: &AnalyzerArgs,
) -> ExitCode {
    let analyzer = match options.build() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut results = Vec::with_capacity(images.len());
    for (index, path) in images.iter().enumerate() {
        let outcome = mien::open_image(path)
            .map_err(mien::AnalyzeError::from)
            .and_then(|photo| {
                let analysis = analyzer.analyze(&photo)?;
                if let (0, Some(out)) = (index, &annotate) {
                    mien_cli::annotate::annotate(&photo, &analysis)
                        .save(out)
                        .map_err(|source| mien::AnalyzeError::WriteImage {
                            path: out.clone(),
                            source,
                        })?;
                }
                Ok(analysis)
            });
        match outcome {
            Ok(analysis) => {
                if !json {
                    print_table(path, &analysis);
                }
                results.push(PhotoResult {
                    path: path.clone(),
                    analysis: Some(analysis),
                    error: None,
                });
            }
            Err(e) => {
                eprintln!("error: {e}");
                results.push(PhotoResult {
                    path: path.clone(),
                    analysis: None,
                    error: Some(e.to_string()),
                });
            }
        }
    }
    if json {
        match serde_json::to_string_pretty(&results) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if results.iter().all(|r| r.error.is_some()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print_table(path: &std::path::Path, analysis: &Analysis) {
    println!(
        "{} ({}×{}): {} face{}, rating {}",
        path.display(),
        analysis.width,
        analysis.height,
        analysis.faces.len(),
        if analysis.faces.len() == 1 { "" } else { "s" },
        analysis.rating.map_or("-".to_owned(), |r| format!(
            "{r:.2} (by smile levels {:.2})",
            analysis.rating_by_smile_levels.unwrap_or(0.0)
        ))
    );
    if analysis.faces.is_empty() {
        return;
    }
    println!(
        "  {:>2}  {:<22} {:<10} {:>5}  {:<5} {:<8} {:>9}",
        "#", "box (x, y, w, h)", "emotion", "prob", "smile", "level", "eyes open"
    );
    for (i, f) in analysis.faces.iter().enumerate() {
        let b = f.face;
        println!(
            "  {:>2}  {:<22} {} {:<8} {:>4.0}%  {:<5.1} {:<8} {:>9}",
            i + 1,
            format!("{:.0}, {:.0}, {:.0}, {:.0}", b.x, b.y, b.width, b.height),
            f.emoji,
            f.emotion.to_string(),
            100.0 * f.emotion_probability,
            f.smile.value(),
            f.smile_level.name(),
            f.eyes_open
                .map_or("-".to_owned(), |p| format!("{:.0}%", 100.0 * p)),
        );
    }
}
