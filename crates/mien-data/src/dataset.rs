//! [`FaceDataset`]: decoded faces held in memory as `u8`, with every label their source gives.

use std::collections::HashMap;

use image::GrayImage;
use mien_core::{Emotion, LabelSet};
use serde::{Deserialize, Serialize};

use crate::{DataError, Split, Votes};

/// Where a face came from and the labels its source gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceRecord {
    /// The FER2013 split.
    pub split: Split,
    /// The file, or `file:line` for a CSV row, for messages and reports.
    pub source: String,
    /// FER2013's class index (0 angry … 6 neutral), when the source has one.
    pub fer2013: Option<u8>,
    /// The FER+ votes, when the source has them.
    pub votes: Option<Votes>,
}

impl FaceRecord {
    /// FER2013's emotion, when the source has one.
    pub fn fer2013_emotion(&self) -> Option<Emotion> {
        LabelSet::Fer2013.emotion(self.fer2013? as usize)
    }
}

/// Grayscale faces of one size, decoded once and kept in memory (all of FER2013 is ~83 MB).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaceDataset {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    records: Vec<FaceRecord>,
}

impl FaceDataset {
    /// An empty dataset of `width` × `height` faces.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            ..Self::default()
        }
    }

    /// Adds a face.
    ///
    /// # Errors
    /// [`DataError::WrongSize`] when the image is not the dataset's size.
    pub fn push(&mut self, image: &GrayImage, record: FaceRecord) -> Result<(), DataError> {
        if image.dimensions() != (self.width, self.height) {
            return Err(DataError::WrongSize {
                path: record.source.clone().into(),
                width: image.width(),
                height: image.height(),
                expected_width: self.width,
                expected_height: self.height,
            });
        }
        self.pixels.extend_from_slice(image.as_raw());
        self.records.push(record);
        Ok(())
    }

    /// Number of faces.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no faces.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Face width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Face height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The raw row-major pixels of face `index`, or `None` past the end.
    pub fn pixels(&self, index: usize) -> Option<&[u8]> {
        let size = (self.width * self.height) as usize;
        self.pixels.get(index * size..(index + 1) * size)
    }

    /// Face `index` as an image (a copy), or `None` past the end.
    pub fn image(&self, index: usize) -> Option<GrayImage> {
        GrayImage::from_raw(self.width, self.height, self.pixels(index)?.to_vec())
    }

    /// The record of face `index`, or `None` past the end.
    pub fn record(&self, index: usize) -> Option<&FaceRecord> {
        self.records.get(index)
    }

    /// All records, in order.
    pub fn records(&self) -> &[FaceRecord] {
        &self.records
    }

    /// The faces for which `keep` is true, in order.
    pub fn filter(&self, mut keep: impl FnMut(usize, &FaceRecord) -> bool) -> FaceDataset {
        let mut out = FaceDataset::new(self.width, self.height);
        for (index, record) in self.records.iter().enumerate() {
            if keep(index, record) {
                out.pixels
                    .extend_from_slice(self.pixels(index).expect("index in range"));
                out.records.push(record.clone());
            }
        }
        out
    }

    /// The faces of one split.
    pub fn split(&self, split: Split) -> FaceDataset {
        self.filter(|_, r| r.split == split)
    }

    /// How many faces each split has.
    pub fn split_counts(&self) -> HashMap<Split, usize> {
        let mut counts = HashMap::new();
        for record in &self.records {
            *counts.entry(record.split).or_default() += 1;
        }
        counts
    }

    /// Removes the faces of the other splits whose exact pixels also occur in `keep`
    /// (FER2013's PublicTest shares 280 images with Training). Returns how many were removed.
    ///
    /// ```
    /// # use mien_data::{FaceDataset, FaceRecord, Split};
    /// # let face = |split| FaceRecord { split, source: String::new(), fer2013: Some(3), votes: None };
    /// let mut data = FaceDataset::new(1, 1);
    /// data.push(&image::GrayImage::from_raw(1, 1, vec![7]).unwrap(), face(Split::Training))?;
    /// data.push(&image::GrayImage::from_raw(1, 1, vec![7]).unwrap(), face(Split::PublicTest))?;
    /// data.push(&image::GrayImage::from_raw(1, 1, vec![8]).unwrap(), face(Split::PublicTest))?;
    /// assert_eq!(data.remove_cross_split_duplicates(Split::Training), 1);
    /// assert_eq!(data.len(), 2);
    /// # Ok::<(), mien_data::DataError>(())
    /// ```
    pub fn remove_cross_split_duplicates(&mut self, keep: Split) -> usize {
        let kept: std::collections::HashSet<&[u8]> = (0..self.len())
            .filter(|&i| self.records[i].split == keep)
            .map(|i| self.pixels(i).expect("index in range"))
            .collect();
        let drop: Vec<bool> = (0..self.len())
            .map(|i| {
                self.records[i].split != keep
                    && kept.contains(self.pixels(i).expect("index in range"))
            })
            .collect();
        let removed = drop.iter().filter(|&&d| d).count();
        if removed > 0 {
            *self = self.filter(|i, _| !drop[i]);
        }
        removed
    }

    /// Appends every face of `other`.
    ///
    /// # Errors
    /// [`DataError::WrongSize`] when the face sizes differ.
    pub fn extend(&mut self, other: FaceDataset) -> Result<(), DataError> {
        if (other.width, other.height) != (self.width, self.height) && !other.is_empty() {
            return Err(DataError::WrongSize {
                path: "<merged dataset>".into(),
                width: other.width,
                height: other.height,
                expected_width: self.width,
                expected_height: self.height,
            });
        }
        self.pixels.extend(other.pixels);
        self.records.extend(other.records);
        Ok(())
    }
}
