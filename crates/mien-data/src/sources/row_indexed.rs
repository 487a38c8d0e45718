//! The row-indexed layout of `$MIEN_DATA/fer2013`: `<Split>/<class>/<row>.png`, where `row`
//! is the 0-based row of the original `fer2013.csv`, with `labels.csv`
//! (`index,usage,emotion,class,path,…`) and optionally `ferplus.csv`
//! (`split,path,index,ferplus_image_name,neutral,…,NF`).

use std::collections::HashMap;
use std::path::Path;

use mien_core::LabelSet;

use crate::load::{
    Columns, ImageJob, LoadOptions, Loaded, Row, bad_csv, collect_rows, decode_all, field, line_of,
    parse_votes,
};
use crate::{DataError, FaceRecord, Split, Votes};

/// Loads the row-indexed layout under `root`, with FER+ votes when `ferplus.csv` is present.
///
/// # Errors
/// [`DataError::BadRow`] for a row whose emotion is out of range, disagrees with its class
/// name, or has an unknown split; image errors for missing or bad files. Lenient loading
/// skips and reports.
pub fn load(root: &Path, options: &LoadOptions) -> Result<Loaded, DataError> {
    let votes = match root.join("ferplus.csv") {
        path if path.is_file() => read_ferplus(&path)?,
        _ => HashMap::new(),
    };
    let labels = root.join("labels.csv");
    let mut reader = crate::load::csv_reader(&labels)?;
    let columns = Columns::read(&mut reader, &labels, "index,usage,emotion,class,path")?;
    let (usage, emotion, class, path_col) = (
        columns.require("usage")?,
        columns.require("emotion")?,
        columns.find("class"),
        columns.require("path")?,
    );

    let mut jobs = Vec::new();
    let mut bad_rows: Vec<Row> = Vec::new();
    for record in reader.records() {
        let parsed = record.map_err(|e| bad_csv(&labels, &e)).and_then(|record| {
            let line = line_of(&record);
            let bad = |problem: String| DataError::BadRow {
                path: labels.clone(),
                line,
                problem,
            };
            let split = field(&record, usage, "usage", &labels)?
                .parse::<Split>()
                .map_err(|e| bad(e.to_string()))?;
            let text = field(&record, emotion, "emotion", &labels)?;
            let label = text
                .parse::<u8>()
                .ok()
                .filter(|&l| l < 7)
                .ok_or_else(|| bad(format!("emotion {text:?} is not a class index 0-6")))?;
            if let Some(col) = class {
                let name = field(&record, col, "class", &labels)?;
                let expected = LabelSet::Fer2013.emotions()[label as usize].name();
                if name != expected {
                    return Err(bad(format!(
                        "class {name:?} disagrees with emotion {label} ({expected})"
                    )));
                }
            }
            let relative = field(&record, path_col, "path", &labels)?.to_owned();
            Ok(ImageJob {
                path: root.join(&relative),
                record: FaceRecord {
                    split,
                    source: root.join(&relative).display().to_string(),
                    fer2013: Some(label),
                    votes: votes.get(&relative).copied(),
                },
            })
        });
        match parsed {
            Ok(job) => jobs.push(job),
            Err(error) => bad_rows.push(Err(error)),
        }
    }
    // Row errors come first, so a strict load reports a malformed labels.csv before any image.
    let rows = bad_rows.into_iter().chain(decode_all(jobs, options));
    collect_rows(
        rows,
        Vec::new(),
        options,
        &labels,
        "labels.csv has a header but no rows",
    )
}

/// FER+ votes keyed by the image's relative path.
fn read_ferplus(path: &Path) -> Result<HashMap<String, Votes>, DataError> {
    let mut reader = crate::load::csv_reader(path)?;
    let columns = Columns::read(
        &mut reader,
        path,
        "split,path,index,ferplus_image_name,neutral,…,NF",
    )?;
    let path_col = columns.require("path")?;
    let first_vote = columns.require("neutral")?;
    let mut votes = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad_csv(path, &e))?;
        let image = field(&record, path_col, "path", path)?.to_owned();
        votes.insert(image, parse_votes(&record, first_vote, path)?);
    }
    Ok(votes)
}
