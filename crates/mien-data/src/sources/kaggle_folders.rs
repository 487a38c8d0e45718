//! Kaggle's image-folder layout: `train/<class>/*.jpg|png` and `test/<class>/*`, class folders
//! spelled angry, disgust, fear, happy, neutral, sad, surprise.
//!
//! File names like `PublicTest_123.jpg` or `Training_456.jpg` give the FER2013 split; other
//! names take it from the folder (`train` → Training, `test` → PrivateTest, as in the
//! Kaggle release whose `test/` is the challenge's test set).

use std::path::{Path, PathBuf};

use mien_core::LabelSet;

use crate::load::{ImageJob, LoadOptions, Loaded, Skipped, collect_rows, decode_all};
use crate::{DataError, FaceRecord, Split};

/// File extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Loads the Kaggle image-folder layout under `root`.
///
/// # Errors
/// [`DataError::MissingClassFolder`] when `train/` or `test/` lacks a class folder,
/// [`DataError::BadImage`] / [`DataError::WrongSize`] for a bad image,
/// [`DataError::EmptyDataset`] when there are no images. Lenient loading skips and reports.
/// Files that are not images (by extension) are always listed in [`Loaded::skipped`].
pub fn load(root: &Path, options: &LoadOptions) -> Result<Loaded, DataError> {
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for split_dir in ["train", "test"] {
        let dir = root.join(split_dir);
        if !dir.is_dir() {
            continue;
        }
        let folder_split: Split = split_dir.parse().expect("train and test are split names");
        skipped.extend(unexpected_entries(&dir)?);
        for (label, emotion) in LabelSet::Fer2013.emotions().iter().enumerate() {
            let class_dir = dir.join(emotion.name());
            if !class_dir.is_dir() {
                let error = DataError::MissingClassFolder {
                    path: class_dir.clone(),
                };
                if options.lenient {
                    skipped.push(Skipped {
                        location: class_dir.display().to_string(),
                        problem: error.to_string(),
                    });
                    continue;
                }
                return Err(error);
            }
            for path in sorted_files(&class_dir)? {
                if !is_image(&path) {
                    skipped.push(Skipped {
                        location: path.display().to_string(),
                        problem: "not an image file (expected .png, .jpg or .jpeg)".into(),
                    });
                    continue;
                }
                jobs.push(ImageJob {
                    record: FaceRecord {
                        split: split_from_name(&path).unwrap_or(folder_split),
                        source: path.display().to_string(),
                        fer2013: Some(label as u8),
                        votes: None,
                    },
                    path,
                });
            }
        }
    }
    let rows = decode_all(jobs, options);
    collect_rows(
        rows,
        skipped,
        options,
        root,
        "expected train/<class>/*.png|jpg and test/<class>/*",
    )
}

/// Entries of a split folder that are not class folders: reported, never silently ignored.
fn unexpected_entries(dir: &Path) -> Result<Vec<Skipped>, DataError> {
    let classes: Vec<&str> = LabelSet::Fer2013
        .emotions()
        .iter()
        .map(|e| e.name())
        .collect();
    let mut unexpected = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(path.is_dir() && classes.contains(&name)) {
            unexpected.push(Skipped {
                location: path.display().to_string(),
                problem: format!("not one of the class folders {}", classes.join(", ")),
            });
        }
    }
    unexpected.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(unexpected)
}

/// The files of a folder, sorted by name so that loading order is reproducible.
pub(crate) fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Whether the file's extension is one of [`IMAGE_EXTENSIONS`].
pub(crate) fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The split named by a `Training_`, `PublicTest_` or `PrivateTest_` file-name prefix.
fn split_from_name(path: &Path) -> Option<Split> {
    let stem = path.file_stem()?.to_str()?;
    let (prefix, _) = stem.split_once('_')?;
    prefix.parse().ok()
}
