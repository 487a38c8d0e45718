//! The original Kaggle CSV: `emotion,pixels,Usage`, one face per row, pixels space-separated.
//!
//! Also reads the challenge's `train.csv` (`emotion,pixels`: all Training) and `test.csv`
//! (`pixels` only: no labels). Column order does not matter; names are case-insensitive.

use std::path::Path;

use image::GrayImage;

use crate::load::{
    Columns, LoadOptions, Loaded, Row, bad_csv, collect_rows, field, fit_size, line_of,
};
use crate::{DataError, FaceRecord, Split};

/// Loads a Kaggle FER2013 CSV file.
///
/// # Errors
/// [`DataError::BadRow`] naming the line and field for a wrong pixel count, a non-numeric
/// pixel, a label outside 0–6 or an unknown `Usage`; [`DataError::MissingColumn`] without a
/// `pixels` column; [`DataError::EmptyDataset`] for a file without rows. Lenient loading
/// skips bad rows and lists them instead.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, DataError> {
    let mut reader = crate::load::csv_reader(path)?;
    let columns = Columns::read(&mut reader, path, "emotion,pixels,Usage")?;
    let pixels_col = columns.require("pixels")?;
    let emotion_col = columns.find("emotion");
    let usage_col = columns.find("usage");

    let rows: Vec<Row> = reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| bad_csv(path, &e))?;
            parse_row(&record, path, pixels_col, emotion_col, usage_col, options)
        })
        .collect();
    collect_rows(
        rows,
        Vec::new(),
        options,
        path,
        "the CSV file has a header but no rows",
    )
}

fn parse_row(
    record: &csv::StringRecord,
    path: &Path,
    pixels_col: usize,
    emotion_col: Option<usize>,
    usage_col: Option<usize>,
    options: &LoadOptions,
) -> Row {
    let line = line_of(record);
    let bad = |problem: String| DataError::BadRow {
        path: path.to_owned(),
        line,
        problem,
    };
    let fer2013 = match emotion_col {
        Some(col) => {
            let text = field(record, col, "emotion", path)?;
            match text.parse::<u8>() {
                Ok(label) if label < 7 => Some(label),
                _ => return Err(bad(format!("emotion {text:?} is not a class index 0-6"))),
            }
        }
        None => None,
    };
    let split = match usage_col {
        Some(col) => field(record, col, "Usage", path)?
            .parse::<Split>()
            .map_err(|e| bad(e.to_string()))?,
        None => Split::Training,
    };
    let text = field(record, pixels_col, "pixels", path)?;
    let pixels = text
        .split_ascii_whitespace()
        .enumerate()
        .map(|(i, p)| {
            p.parse::<u8>().map_err(|_| {
                bad(format!(
                    "pixel {} is {p:?}, not a whole number 0-255",
                    i + 1
                ))
            })
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let side = (pixels.len() as f64).sqrt() as u32;
    let expected = (options.width * options.height) as usize;
    let image = if pixels.len() == expected {
        GrayImage::from_raw(options.width, options.height, pixels)
    } else if (side * side) as usize == pixels.len() && side > 0 {
        // A square face of another size: the size policy decides.
        GrayImage::from_raw(side, side, pixels)
    } else {
        None
    }
    .ok_or_else(|| {
        bad(format!(
            "pixels has {} values; expected {expected} ({}×{})",
            text.split_ascii_whitespace().count(),
            options.width,
            options.height
        ))
    })?;
    let source = format!("{}:{line}", path.display());
    let image = fit_size(image, Path::new(&source), options).map_err(|e| match e {
        DataError::WrongSize { width, height, .. } => bad(format!(
            "the face is {width}×{height}, not {}×{}; load with SizePolicy::Resize to resize it",
            options.width, options.height
        )),
        other => other,
    })?;
    Ok((
        image,
        FaceRecord {
            split,
            source,
            fer2013,
            votes: None,
        },
    ))
}
