//! What every loader shares: options, the report of skipped inputs, parallel decoding, and
//! layout detection.

use std::path::{Path, PathBuf};

use image::GrayImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::sources;
use crate::{DataError, FaceDataset, FaceRecord};

/// What to do with an image that is not the dataset's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizePolicy {
    /// Fail (or, when lenient, skip and report).
    #[default]
    Error,
    /// Resize it (bilinear) to the dataset's size.
    Resize,
}

/// How a loader reads its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadOptions {
    /// Face width; FER2013's is 48.
    pub width: u32,
    /// Face height; FER2013's is 48.
    pub height: u32,
    /// What to do with images of another size.
    pub on_wrong_size: SizePolicy,
    /// Skip bad rows and images, listing them in [`Loaded::skipped`], instead of failing on
    /// the first one.
    pub lenient: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            width: 48,
            height: 48,
            on_wrong_size: SizePolicy::Error,
            lenient: false,
        }
    }
}

impl LoadOptions {
    /// Lenient loading: bad inputs are skipped and reported.
    pub fn lenient(mut self) -> Self {
        self.lenient = true;
        self
    }

    /// Resize images of another size instead of rejecting them.
    pub fn resizing(mut self) -> Self {
        self.on_wrong_size = SizePolicy::Resize;
        self
    }
}

/// An input a loader passed over, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file, `file, line N`, or folder.
    pub location: String,
    /// What was wrong with it.
    pub problem: String,
}

/// A loaded dataset and everything the loader passed over (empty unless lenient, or for
/// files that are not images at all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// The faces.
    pub dataset: FaceDataset,
    /// Inputs that were skipped, with reasons.
    pub skipped: Vec<Skipped>,
}

/// Loads FER2013 from `path` in whichever layout it is:
///
/// - a `.csv` file: the Kaggle CSV (`emotion,pixels,Usage`);
/// - a folder with `labels.csv` and `Training/`: the row-indexed layout of `$MIEN_DATA/fer2013`;
/// - a folder with `FER2013Train/`, `FER2013Valid/` or `FER2013Test/`: the FER+ layout;
/// - a folder with `train/` or `test/`: the Kaggle image-folder layout.
///
/// # Errors
/// [`DataError::UnknownLayout`] when the path matches none, or the loader's error.
pub fn load(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Loaded, DataError> {
    let path = path.as_ref();
    if path.is_file() {
        return sources::kaggle_csv::load(path, options);
    }
    if !path.is_dir() {
        return Err(DataError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    let has = |name: &str| path.join(name).exists();
    if has("labels.csv") && has("Training") {
        sources::row_indexed::load(path, options)
    } else if crate::Split::ALL.iter().any(|s| has(s.ferplus_folder())) {
        sources::ferplus::load(path, options)
    } else if has("train") || has("test") {
        sources::kaggle_folders::load(path, options)
    } else {
        Err(DataError::UnknownLayout {
            path: path.to_owned(),
            hint: "expected a Kaggle CSV file, or a folder with labels.csv + Training/, \
                   FER2013Train/ (FER+), or train/ and test/ (Kaggle folders)"
                .into(),
        })
    }
}

/// One image file to decode, with its record.
pub(crate) struct ImageJob {
    pub path: PathBuf,
    pub record: FaceRecord,
}

/// A face read from its source, or why it could not be.
pub(crate) type Row = Result<(GrayImage, FaceRecord), DataError>;

/// Decodes image files in parallel, keeping their order.
pub(crate) fn decode_all(jobs: Vec<ImageJob>, options: &LoadOptions) -> Vec<Row> {
    jobs.into_par_iter()
        .map(|job| {
            let image = decode_face(&job.path, options)?;
            Ok((image, job.record))
        })
        .collect()
}

/// Decodes one image file into a grayscale face of the options' size.
pub(crate) fn decode_face(path: &Path, options: &LoadOptions) -> Result<GrayImage, DataError> {
    let image = mien_core::open_image(path).map_err(|source| DataError::BadImage {
        path: path.to_owned(),
        source,
    })?;
    fit_size(image.into_luma8(), path, options)
}

/// Applies the size policy to a decoded face.
pub(crate) fn fit_size(
    image: GrayImage,
    path: &Path,
    options: &LoadOptions,
) -> Result<GrayImage, DataError> {
    if image.dimensions() == (options.width, options.height) {
        return Ok(image);
    }
    match options.on_wrong_size {
        SizePolicy::Resize if image.width() > 0 && image.height() > 0 => {
            Ok(image::imageops::resize(
                &image,
                options.width,
                options.height,
                image::imageops::FilterType::Triangle,
            ))
        }
        _ => Err(DataError::WrongSize {
            path: path.to_owned(),
            width: image.width(),
            height: image.height(),
            expected_width: options.width,
            expected_height: options.height,
        }),
    }
}

/// Builds the dataset from rows in order: the first error fails the load unless lenient,
/// when bad rows are skipped and reported. An empty result is an error either way.
pub(crate) fn collect_rows(
    rows: impl IntoIterator<Item = Row>,
    mut skipped: Vec<Skipped>,
    options: &LoadOptions,
    source: &Path,
    hint: &str,
) -> Result<Loaded, DataError> {
    let mut dataset = FaceDataset::new(options.width, options.height);
    for row in rows {
        match row.and_then(|(image, record)| dataset.push(&image, record)) {
            Ok(()) => {}
            Err(error) if options.lenient => skipped.push(Skipped {
                location: location_of(&error),
                problem: error.to_string(),
            }),
            Err(error) => return Err(error),
        }
    }
    if dataset.is_empty() {
        return Err(DataError::EmptyDataset {
            path: source.to_owned(),
            hint: format!(
                "{hint}{}",
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} inputs skipped, first: {})",
                        skipped.len(),
                        skipped[0].problem
                    )
                }
            ),
        });
    }
    Ok(Loaded { dataset, skipped })
}

fn location_of(error: &DataError) -> String {
    match error {
        DataError::BadRow { path, line, .. } => format!("{}, line {line}", path.display()),
        DataError::Io { path, .. }
        | DataError::BadImage { path, .. }
        | DataError::NoVotes { path, .. }
        | DataError::WrongSize { path, .. }
        | DataError::MissingClassFolder { path }
        | DataError::EmptyDataset { path, .. } => path.display().to_string(),
        other => other.to_string(),
    }
}

/// Opens a CSV file with a header row.
pub(crate) fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok(csv::ReaderBuilder::new().flexible(true).from_reader(file))
}

/// The header of a CSV file, as a column-name → index lookup.
pub(crate) struct Columns {
    names: Vec<String>,
    path: PathBuf,
    expected: String,
}

impl Columns {
    pub fn read(
        reader: &mut csv::Reader<std::fs::File>,
        path: &Path,
        expected: &str,
    ) -> Result<Self, DataError> {
        let headers = reader.headers().map_err(|e| bad_csv(path, &e))?;
        Ok(Self {
            names: headers.iter().map(|h| h.trim().to_owned()).collect(),
            path: path.to_owned(),
            expected: expected.to_owned(),
        })
    }

    /// Index of a required column.
    pub fn require(&self, name: &str) -> Result<usize, DataError> {
        self.find(name).ok_or_else(|| DataError::MissingColumn {
            path: self.path.clone(),
            column: name.to_owned(),
            expected: self.expected.clone(),
        })
    }

    /// Index of an optional column (case-insensitive).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|h| h.eq_ignore_ascii_case(name))
    }
}

/// A CSV parse error as a [`DataError::BadRow`] with its line.
pub(crate) fn bad_csv(path: &Path, error: &csv::Error) -> DataError {
    DataError::BadRow {
        path: path.to_owned(),
        line: error.position().map_or(0, |p| p.line()),
        problem: error.to_string(),
    }
}

/// A field of a CSV row, or a [`DataError::BadRow`] naming the missing column.
pub(crate) fn field<'r>(
    record: &'r csv::StringRecord,
    index: usize,
    name: &str,
    path: &Path,
) -> Result<&'r str, DataError> {
    record
        .get(index)
        .map(str::trim)
        .ok_or_else(|| DataError::BadRow {
            path: path.to_owned(),
            line: line_of(record),
            problem: format!(
                "the row has {} field(s), so no {name:?} field",
                record.len()
            ),
        })
}

/// The 1-based line of a CSV row.
pub(crate) fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// Parses the ten FER+ vote counts starting at column `first`.
pub(crate) fn parse_votes(
    record: &csv::StringRecord,
    first: usize,
    path: &Path,
) -> Result<crate::Votes, DataError> {
    let emotions = mien_core::LabelSet::FerPlus
        .emotions()
        .iter()
        .map(|e| e.ferplus_name());
    let names = emotions.chain(["unknown", "NF"]);
    let mut votes = [0u8; 10];
    for ((k, name), vote) in names.enumerate().zip(&mut votes) {
        let text = field(record, first + k, name, path)?;
        *vote = text.parse().map_err(|_| DataError::BadRow {
            path: path.to_owned(),
            line: line_of(record),
            problem: format!("vote count {name} = {text:?} is not a whole number 0-255"),
        })?;
    }
    let votes = crate::Votes(votes);
    let total = votes.total();
    if total == 0 || total > 10 {
        return Err(DataError::BadRow {
            path: path.to_owned(),
            line: line_of(record),
            problem: format!(
                "the 10 vote counts add up to {total}; FER+ has 1 to 10 votes per image"
            ),
        });
    }
    Ok(votes)
}
