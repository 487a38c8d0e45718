//! Does "make it happier" work, by mien's own models? For FER2013's neutral and sad faces of a
//! split (each 48×48 image one face, read whole) and, with `--photos`, for every photo of a
//! folder (faces found by BlazeFace), the smile score and the emotion before and after
//! `Analyzer::make_happier`: the share of faces whose smile rises, the mean rise, and how often
//! the emotion reads "happy".
//!
//! ```text
//! cargo run --release -p mien --example happier_check -- --fer2013 ../shared/fer2013 --split PublicTest
//! cargo run --release -p mien --example happier_check -- --photos ../shared/faces_wild
//! ```

use std::path::{Path, PathBuf};

use clap::Parser;
use mien::{Analyzer, Emotion, HappierEdit};

/// Smile scores before and after the edit, on FER2013 faces and/or photos.
#[derive(Parser)]
struct Args {
    /// The FER2013 folder (with `<split>/neutral` and `<split>/sad`).
    #[arg(long)]
    fer2013: Option<PathBuf>,
    /// Which split's faces.
    #[arg(long, default_value = "PublicTest")]
    split: String,
    /// A folder of photos (.jpg, .png), searched recursively.
    #[arg(long)]
    photos: Option<PathBuf>,
    /// The edit's strength.
    #[arg(long, default_value_t = 1.0)]
    strength: f32,
    /// At most this many images per class or folder.
    #[arg(long, default_value_t = usize::MAX)]
    limit: usize,
}

/// What the edits did to a set of faces.
#[derive(Default)]
struct Tally {
    faces: usize,
    rose: usize,
    unchanged: usize,
    rise: f64,
    happy_before: usize,
    happy_after: usize,
}

impl Tally {
    fn add(&mut self, edit: &HappierEdit) {
        for (before, after) in edit.smiles() {
            self.faces += 1;
            self.rose += usize::from(after > before);
            self.unchanged += usize::from(after == before);
            self.rise += f64::from(after - before);
        }
        let happy = |faces: &[mien::FaceAnalysis]| {
            faces.iter().filter(|f| f.emotion == Emotion::Happy).count()
        };
        self.happy_before += happy(&edit.before.faces);
        self.happy_after += happy(&edit.after.faces);
    }

    fn print(&self, what: &str) {
        let n = self.faces.max(1) as f64;
        println!(
            "{what}: {} faces, smile rose on {:.1} % (unchanged on {:.1} %; mean rise {:+.2} \
             points of 10), read as happy {:.1} % before, {:.1} % after",
            self.faces,
            100.0 * self.rose as f64 / n,
            100.0 * self.unchanged as f64 / n,
            self.rise / n,
            100.0 * self.happy_before as f64 / n,
            100.0 * self.happy_after as f64 / n,
        );
    }
}

fn images(dir: &Path, limit: usize) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    paths.sort();
    paths.truncate(limit);
    paths
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(fer) = &args.fer2013 {
        let analyzer = Analyzer::builder()
            .whole_image(true)
            .eye_state(false)
            .build()?;
        for class in ["neutral", "sad"] {
            let mut tally = Tally::default();
            for path in images(&fer.join(&args.split).join(class), args.limit) {
                let face = mien::open_image(&path)?;
                tally.add(&analyzer.make_happier(&face, args.strength)?);
            }
            tally.print(&format!("{} {class}", args.split));
        }
    }
    if let Some(dir) = &args.photos {
        let analyzer = Analyzer::builder().eye_state(false).build()?;
        let mut tally = Tally::default();
        for path in images(dir, args.limit) {
            let photo = mien::open_image(&path)?;
            tally.add(&analyzer.make_happier(&photo, args.strength)?);
        }
        tally.print(&dir.display().to_string());
    }
    Ok(())
}
