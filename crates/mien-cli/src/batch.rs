//! Analysing every photo in a folder: annotated copies, `results.csv` (one row per face) and
//! `summary.json` (counts per emotion, mean smile, rating per photo, unreadable files).
//! The `mien batch` command is this module plus a progress bar.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use mien::{Analysis, AnalyzeError, Analyzer};

/// File extensions taken as photos (any case).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// What can stop a whole batch (single photos that fail are listed, not fatal).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The input folder cannot be listed.
    #[error("cannot list {path}: {message}")]
    List {
        /// The folder.
        path: PathBuf,
        /// The file system's message.
        message: String,
    },
    /// The input folder holds no photo.
    #[error("no .jpg, .jpeg or .png files under {0} (searched recursively)")]
    NoImages(PathBuf),
    /// An output file cannot be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Every photo under `dir` (recursively, following no symbolic links), sorted by path.
///
/// # Errors
/// [`BatchError::List`] when `dir` or a folder inside cannot be read;
/// [`BatchError::NoImages`] when there is no photo.
pub fn find_images(dir: &Path) -> Result<Vec<PathBuf>, BatchError> {
    let mut images = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| BatchError::List {
            path: e.path().unwrap_or(dir).to_owned(),
            message: e.to_string(),
        })?;
        let is_image = entry.path().extension().is_some_and(|ext| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known))
        });
        if entry.file_type().is_file() && is_image {
            images.push(entry.into_path());
        }
    }
    if images.is_empty() {
        return Err(BatchError::NoImages(dir.to_owned()));
    }
    Ok(images)
}

/// One photo's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoOutcome {
    /// Path relative to the input folder.
    pub path: PathBuf,
    /// The analysis, or `None` when the photo could not be read or analysed.
    #[serde(skip)]
    pub analysis: Option<Analysis>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Analyses `images` (paths under `root`) in parallel and, when `annotated` is given, writes
/// each annotated photo there under its relative path. `done` is called after each photo
/// (for a progress bar). Outcomes come back in the order of `images`.
pub fn analyze_all(
    analyzer: &Analyzer,
    root: &Path,
    images: &[PathBuf],
    annotated: Option<&Path>,
    done: impl Fn(&Path) + Sync,
) -> Vec<PhotoOutcome> {
    images
        .par_iter()
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(path).to_owned();
            let outcome = analyze_one(analyzer, path, annotated.map(|dir| dir.join(&relative)));
            done(path);
            match outcome {
                Ok(analysis) => PhotoOutcome {
                    path: relative,
                    analysis: Some(analysis),
                    error: None,
                },
                Err(e) => PhotoOutcome {
                    path: relative,
                    analysis: None,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect()
}

fn analyze_one(
    analyzer: &Analyzer,
    path: &Path,
    annotated: Option<PathBuf>,
) -> Result<Analysis, AnalyzeError> {
    let photo = mien::open_image(path)?;
    let analysis = analyzer.analyze(&photo)?;
    if let Some(out) = annotated {
        let write_error = |source| AnalyzeError::WriteImage {
            path: out.clone(),
            source,
        };
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| write_error(image::ImageError::IoError(e)))?;
        }
        crate::annotate::annotate(&photo, &analysis)
            .save(&out)
            .map_err(write_error)?;
    }
    Ok(analysis)
}

/// The columns of `results.csv` ([`mien::FaceRow::COLUMNS`]).
pub const CSV_HEADER: [&str; 13] = mien::FaceRow::COLUMNS;

/// Writes `results.csv`: one row per face of every analysed photo ([`Analysis::rows`]).
///
/// # Errors
/// [`BatchError::Write`] naming the file.
pub fn write_results_csv(outcomes: &[PhotoOutcome], path: &Path) -> Result<(), BatchError> {
    let write_error = |e: &dyn std::fmt::Display| BatchError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut writer = csv::Writer::from_path(path).map_err(|e| write_error(&e))?;
    writer
        .write_record(CSV_HEADER)
        .map_err(|e| write_error(&e))?;
    for outcome in outcomes {
        let Some(analysis) = &outcome.analysis else {
            continue;
        };
        for row in analysis.rows(&outcome.path.display().to_string()) {
            writer
                .write_record(row.to_record())
                .map_err(|e| write_error(&e))?;
        }
    }
    writer.flush().map_err(|e| write_error(&e))
}

/// `summary.json`: the whole batch at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Photos found.
    pub photos: usize,
    /// Photos analysed.
    pub analysed: usize,
    /// Faces over all analysed photos.
    pub faces: usize,
    /// Faces per top emotion.
    pub emotions: BTreeMap<String, usize>,
    /// Mean smile score (1–10) over all faces; `None` without faces.
    pub mean_smile: Option<f32>,
    /// Per analysed photo: its faces and ratings.
    pub ratings: Vec<PhotoRating>,
    /// Photos that could not be read or analysed, with the reason.
    pub unreadable: Vec<PhotoOutcome>,
}

/// One photo's line in [`Summary::ratings`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoRating {
    /// Path relative to the input folder.
    pub path: PathBuf,
    /// Faces found.
    pub faces: usize,
    /// mien's rating; `None` without faces.
    pub rating: Option<f32>,
    /// The rating by smile levels ([`Analysis::rating_by_smile_levels`]); `None` without faces.
    pub rating_by_smile_levels: Option<f32>,
}

impl Summary {
    /// The summary of `outcomes`.
    pub fn new(outcomes: &[PhotoOutcome]) -> Self {
        let analysed: Vec<(&PhotoOutcome, &Analysis)> = outcomes
            .iter()
            .filter_map(|o| o.analysis.as_ref().map(|a| (o, a)))
            .collect();
        let all_faces: Vec<_> = analysed.iter().flat_map(|(_, a)| &a.faces).collect();
        let mut emotions = BTreeMap::new();
        for face in &all_faces {
            *emotions.entry(face.emotion.to_string()).or_insert(0) += 1;
        }
        let mean_smile = (!all_faces.is_empty()).then(|| {
            all_faces.iter().map(|f| f.smile.value()).sum::<f32>() / all_faces.len() as f32
        });
        Self {
            photos: outcomes.len(),
            analysed: analysed.len(),
            faces: all_faces.len(),
            emotions,
            mean_smile,
            ratings: analysed
                .iter()
                .map(|(o, a)| PhotoRating {
                    path: o.path.clone(),
                    faces: a.faces.len(),
                    rating: a.rating,
                    rating_by_smile_levels: a.rating_by_smile_levels,
                })
                .collect(),
            unreadable: outcomes
                .iter()
                .filter(|o| o.analysis.is_none())
                .cloned()
                .collect(),
        }
    }

    /// Writes it as pretty JSON.
    ///
    /// # Errors
    /// [`BatchError::Write`] naming the file.
    pub fn write(&self, path: &Path) -> Result<(), BatchError> {
        let write_error = |e: &dyn std::fmt::Display| BatchError::Write {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let json = serde_json::to_string_pretty(self).map_err(|e| write_error(&e))?;
        std::fs::write(path, json).map_err(|e| write_error(&e))
    }
}
