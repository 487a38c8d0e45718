//! The FER+ layout: `FER2013Train/`, `FER2013Valid/`, `FER2013Test/` folders of
//! `fer0000000.png`, with the votes in `fer2013new.csv` (`Usage,Image name,neutral,…,NF`)
//! at the root, or in each folder's `label.csv` as the FERPlus repository's
//! `generate_training_data.py` writes it (`name,"(x, y, w, h)",neutral,…,NF`, no header).
//!
//! FER+ has no FER2013 labels: use a FER+ [`crate::LabelMode`].

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::load::{
    Columns, ImageJob, LoadOptions, Loaded, Skipped, bad_csv, collect_rows, decode_all, field,
    parse_votes,
};
use crate::{DataError, FaceRecord, Split, Votes};

/// Loads the FER+ layout under `root`.
///
/// # Errors
/// [`DataError::EmptyDataset`] when there is neither `fer2013new.csv` nor a `label.csv`;
/// [`DataError::BadRow`] for malformed votes; a missing image or an image without votes
/// fails the load unless lenient.
pub fn load(root: &Path, options: &LoadOptions) -> Result<Loaded, DataError> {
    let votes = read_votes(root)?;
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    let mut present = Vec::new();
    for split in Split::ALL {
        let dir = root.join(split.ferplus_folder());
        if !dir.is_dir() {
            continue;
        }
        present.push(split);
        for path in super::kaggle_folders::sorted_files(&dir)? {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if !super::kaggle_folders::is_image(&path) {
                if name != "label.csv" {
                    skipped.push(Skipped {
                        location: path.display().to_string(),
                        problem: "not an image file (expected .png, .jpg or .jpeg)".into(),
                    });
                }
                continue;
            }
            let key = (split, name);
            seen.insert(key.clone());
            match votes.get(&key) {
                Some(&votes) => jobs.push(ImageJob {
                    record: FaceRecord {
                        split,
                        source: path.display().to_string(),
                        fer2013: None,
                        votes: Some(votes),
                    },
                    path,
                }),
                None => missing.push(path),
            }
        }
    }
    for path in missing {
        let votes = votes_source(root);
        if !options.lenient {
            return Err(DataError::NoVotes { path, votes });
        }
        skipped.push(Skipped {
            location: path.display().to_string(),
            problem: format!("no votes for this image in {votes}"),
        });
    }
    let rows = decode_all(jobs, options);
    collect_rows(
        rows,
        skipped,
        options,
        root,
        "expected FER2013Train/fer*.png with votes",
    )
}

fn votes_source(root: &Path) -> String {
    let csv = root.join("fer2013new.csv");
    if csv.is_file() {
        csv.display().to_string()
    } else {
        "the folder's label.csv".into()
    }
}

/// Votes keyed by (split, image file name).
fn read_votes(root: &Path) -> Result<HashMap<(Split, String), Votes>, DataError> {
    let csv_path = root.join("fer2013new.csv");
    if csv_path.is_file() {
        return read_fer2013new(&csv_path);
    }
    let mut votes = HashMap::new();
    for split in Split::ALL {
        let label_csv = root.join(split.ferplus_folder()).join("label.csv");
        if label_csv.is_file() {
            read_label_csv(&label_csv, split, &mut votes)?;
        }
    }
    if votes.is_empty() {
        return Err(DataError::EmptyDataset {
            path: root.to_owned(),
            hint: "no fer2013new.csv at the root and no label.csv in the FER2013* folders".into(),
        });
    }
    Ok(votes)
}

/// Microsoft's `fer2013new.csv`; rows without an image name (not-a-face rows) are skipped,
/// as they have no image.
fn read_fer2013new(path: &Path) -> Result<HashMap<(Split, String), Votes>, DataError> {
    let mut reader = crate::load::csv_reader(path)?;
    let expected = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF";
    let columns = Columns::read(&mut reader, path, expected)?;
    let usage = columns.require("Usage")?;
    let name = columns.require("Image name")?;
    let first_vote = columns.require("neutral")?;
    let mut votes = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad_csv(path, &e))?;
        let image = field(&record, name, "Image name", path)?;
        if image.is_empty() {
            continue;
        }
        let split = field(&record, usage, "Usage", path)?
            .parse::<Split>()
            .map_err(|e| DataError::BadRow {
                path: path.to_owned(),
                line: crate::load::line_of(&record),
                problem: e.to_string(),
            })?;
        votes.insert(
            (split, image.to_owned()),
            parse_votes(&record, first_vote, path)?,
        );
    }
    Ok(votes)
}

/// A FERPlus `label.csv`: `name,"(x, y, w, h)",10 votes`, no header.
fn read_label_csv(
    path: &Path,
    split: Split,
    votes: &mut HashMap<(Split, String), Votes>,
) -> Result<(), DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    for record in reader.records() {
        let record = record.map_err(|e| bad_csv(path, &e))?;
        let image = field(&record, 0, "image name", path)?.to_owned();
        votes.insert((split, image), parse_votes(&record, 2, path)?);
    }
    Ok(())
}
