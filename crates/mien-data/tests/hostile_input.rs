//! Hostile input for every FER2013 layout: arbitrary bytes and damaged copies of valid label
//! files and images (`mien_core::fuzzing`), each loaded by `mien_data::load` with the default
//! (strict) and the lenient options. Every case must end in a dataset or an error: never a
//! panic. `MIEN_FUZZ_CASES` sets the cases per layout.

use std::path::{Path, PathBuf};

use image::GrayImage;
use mien_core::fuzzing;
use mien_data::{LoadOptions, load};
use proptest::prelude::*;

/// A folder for one test, emptied first and removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mien-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn png(value: u8) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    GrayImage::from_fn(48, 48, |x, y| {
        image::Luma([value.wrapping_add((x ^ y) as u8)])
    })
    .write_to(&mut bytes, image::ImageFormat::Png)
    .unwrap();
    bytes.into_inner()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Loading `path` strictly and leniently ends without a panic (either may be an error).
fn load_both_ways(path: &Path) {
    let _ = load(path, &LoadOptions::default());
    let _ = load(path, &LoadOptions::default().lenient().resizing());
}

const KAGGLE_CSV: &str = "emotion,pixels,Usage\n";

fn kaggle_csv() -> String {
    let pixels = |v: u32| {
        (0..2304)
            .map(|i| ((i + v) % 256).to_string())
            .collect::<Vec<_>>()
    };
    let mut text = KAGGLE_CSV.to_owned();
    for (emotion, usage) in [(3, "Training"), (0, "PublicTest"), (6, "PrivateTest")] {
        text += &format!("{emotion},{},{usage}\n", pixels(emotion).join(" "));
    }
    text
}

const ROW_LABELS: &str = "index,usage,emotion,class,path,pixel_sha1,source_path\n\
    0,Training,3,happy,Training/happy/00000000.png,x,y\n\
    1,PublicTest,0,angry,PublicTest/angry/00000001.png,x,y\n";

const ROW_VOTES: &str = "split,path,index,ferplus_image_name,neutral,happiness,surprise,\
    sadness,anger,disgust,fear,contempt,unknown,NF\n\
    Training,Training/happy/00000000.png,0,fer0000000.png,0,10,0,0,0,0,0,0,0,0\n\
    PublicTest,PublicTest/angry/00000001.png,1,fer0000001.png,0,0,0,0,9,0,0,0,1,0\n";

const FERPLUS: &str = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,\
    fear,contempt,unknown,NF\n\
    Training,fer0000000.png,2,6,2,0,0,0,0,0,0,0\n\
    PublicTest,fer0000001.png,0,0,0,0,3,0,0,0,0,7\n";

proptest! {
    #![proptest_config(fuzzing::config())]

    #[test]
    fn kaggle_csv_survives_hostile_bytes(bytes in fuzzing::hostile_bytes(kaggle_csv().into_bytes())) {
        let dir = Scratch::new("csv");
        let path = dir.0.join("fer2013.csv");
        write(&path, &bytes);
        load_both_ways(&path);
    }

    #[test]
    fn kaggle_folders_survive_hostile_images(bytes in fuzzing::hostile_bytes(png(7))) {
        let dir = Scratch::new("folders");
        write(&dir.0.join("train/happy/Training_1.png"), &png(1));
        write(&dir.0.join("train/sad/Training_2.jpg"), &bytes);
        write(&dir.0.join("test/angry/PublicTest_3.png"), &bytes);
        load_both_ways(&dir.0);
    }

    #[test]
    fn row_indexed_layout_survives_hostile_label_files(
        labels in fuzzing::hostile_bytes(ROW_LABELS.as_bytes().to_vec()),
        votes in fuzzing::hostile_bytes(ROW_VOTES.as_bytes().to_vec()),
        image in fuzzing::mutation(png(3)),
    ) {
        let dir = Scratch::new("row-indexed");
        write(&dir.0.join("Training/happy/00000000.png"), &image);
        write(&dir.0.join("PublicTest/angry/00000001.png"), &png(4));
        write(&dir.0.join("labels.csv"), &labels);
        write(&dir.0.join("ferplus.csv"), &votes);
        load_both_ways(&dir.0);
    }

    #[test]
    fn ferplus_layout_survives_hostile_label_files(
        labels in fuzzing::hostile_bytes(FERPLUS.as_bytes().to_vec()),
    ) {
        let dir = Scratch::new("ferplus");
        write(&dir.0.join("FER2013Train/fer0000000.png"), &png(5));
        write(&dir.0.join("FER2013Valid/fer0000001.png"), &png(6));
        write(&dir.0.join("fer2013new.csv"), &labels);
        load_both_ways(&dir.0);
    }
}
