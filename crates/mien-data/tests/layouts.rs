//! Every layout, read from small fixtures the tests write, and every kind of bad input.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use image::GrayImage;
use mien_data::{
    DataError, LabelMode, LabelledDataset, LoadOptions, MajorityRule, Split, Target, load,
};

/// A fresh temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mien-data-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A 48×48 face whose pixels all equal `value` (so tests can tell faces apart).
fn face(value: u8) -> GrayImage {
    GrayImage::from_pixel(48, 48, image::Luma([value]))
}

fn save(path: &Path, image: &GrayImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image.save(path).unwrap();
}

fn pixels_field(value: u8, count: usize) -> String {
    vec![value.to_string(); count].join(" ")
}

const CLASSES: [&str; 7] = [
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
];

// ---------------------------------------------------------------- Kaggle CSV

fn write_csv(dir: &Path, rows: &[String]) -> PathBuf {
    let path = dir.join("fer2013.csv");
    let mut text = String::from("emotion,pixels,Usage\n");
    for row in rows {
        writeln!(text, "{row}").unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn kaggle_csv_reads_labels_splits_and_pixels() {
    let dir = TempDir::new("csv-ok");
    let path = write_csv(
        &dir.0,
        &[
            format!("3,{},Training", pixels_field(10, 2304)),
            format!("1,{},PublicTest", pixels_field(20, 2304)),
            format!("6,{},PrivateTest", pixels_field(30, 2304)),
        ],
    );
    let loaded = load(&path, &LoadOptions::default()).unwrap();
    let data = loaded.dataset;
    assert_eq!(data.len(), 3);
    assert!(loaded.skipped.is_empty());
    assert_eq!(data.record(1).unwrap().split, Split::PublicTest);
    assert_eq!(data.record(2).unwrap().fer2013, Some(6));
    assert_eq!(data.pixels(1).unwrap(), &[20u8; 2304][..]);
    assert!(data.record(0).unwrap().source.ends_with("fer2013.csv:2"));
}

#[test]
fn kaggle_csv_errors_name_line_and_problem() {
    let dir = TempDir::new("csv-bad");
    let cases = [
        (
            format!("3,{},Training", pixels_field(1, 2303)),
            "2303 values",
        ),
        (
            format!("3,{} x,Training", pixels_field(1, 2303)),
            "pixel 2304 is \"x\"",
        ),
        (
            format!("7,{},Training", pixels_field(1, 2304)),
            "emotion \"7\"",
        ),
        (
            format!("3,{},Holdout", pixels_field(1, 2304)),
            "unknown split \"Holdout\"",
        ),
        ("3".to_string(), "the row has 1 field(s)"),
    ];
    for (row, expected) in cases {
        let path = write_csv(
            &dir.0,
            &[format!("0,{},Training", pixels_field(0, 2304)), row],
        );
        let err = load(&path, &LoadOptions::default()).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, DataError::BadRow { line: 3, .. }),
            "{message}"
        );
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
}

#[test]
fn lenient_csv_skips_and_reports_bad_rows() {
    let dir = TempDir::new("csv-lenient");
    let path = write_csv(
        &dir.0,
        &[
            format!("3,{},Training", pixels_field(1, 2304)),
            format!("9,{},Training", pixels_field(1, 2304)),
            format!("3,{},Training", pixels_field(1, 101)),
            format!("4,{},Training", pixels_field(1, 2304)),
        ],
    );
    let loaded = load(&path, &LoadOptions::default().lenient()).unwrap();
    assert_eq!(loaded.dataset.len(), 2);
    assert_eq!(loaded.skipped.len(), 2);
    assert!(
        loaded.skipped[0].location.ends_with("line 3"),
        "{:?}",
        loaded.skipped
    );
    assert!(
        loaded.skipped[1].location.ends_with("line 4"),
        "{:?}",
        loaded.skipped
    );
}

#[test]
fn wrong_sized_faces_are_errors_or_resized() {
    let dir = TempDir::new("csv-size");
    let path = write_csv(
        &dir.0,
        &[format!("3,{},Training", pixels_field(200, 64 * 64))],
    );
    let err = load(&path, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::BadRow { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("64×64, not 48×48"), "{err}");
    let loaded = load(&path, &LoadOptions::default().resizing()).unwrap();
    assert_eq!(loaded.dataset.image(0).unwrap(), face(200));
}

#[test]
fn empty_and_headerless_files_are_errors() {
    let dir = TempDir::new("csv-empty");
    let path = write_csv(&dir.0, &[]);
    assert!(matches!(
        load(&path, &LoadOptions::default()),
        Err(DataError::EmptyDataset { .. })
    ));
    std::fs::write(&path, "label,values\n1,2\n").unwrap();
    let err = load(&path, &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(err, DataError::MissingColumn { ref column, .. } if column == "pixels"),
        "{err}"
    );
    assert!(load(dir.0.join("nothing-here"), &LoadOptions::default()).is_err());
}

// ---------------------------------------------------------------- Kaggle folders

fn kaggle_folders(dir: &Path) {
    for (label, class) in CLASSES.iter().enumerate() {
        save(
            &dir.join(format!("train/{class}/Training_{label}.png")),
            &face(label as u8),
        );
        save(
            &dir.join(format!("test/{class}/PublicTest_{label}.jpg")),
            &face(100),
        );
        save(&dir.join(format!("test/{class}/{label}.png")), &face(200));
    }
}

#[test]
fn kaggle_folders_take_class_from_folder_and_split_from_name() {
    let dir = TempDir::new("folders-ok");
    kaggle_folders(&dir.0);
    std::fs::write(dir.0.join("train/happy/notes.txt"), "not a face").unwrap();
    let loaded = load(&dir.0, &LoadOptions::default()).unwrap();
    let data = &loaded.dataset;
    assert_eq!(data.len(), 21);
    let counts = data.split_counts();
    assert_eq!(counts[&Split::Training], 7);
    assert_eq!(counts[&Split::PublicTest], 7);
    assert_eq!(
        counts[&Split::PrivateTest],
        7,
        "test/ files without a prefix"
    );
    let happy = data
        .records()
        .iter()
        .position(|r| r.source.ends_with("Training_3.png"))
        .unwrap();
    assert_eq!(data.record(happy).unwrap().fer2013, Some(3));
    assert_eq!(data.pixels(happy).unwrap()[0], 3);
    // The text file is not silently dropped: it is reported.
    assert_eq!(loaded.skipped.len(), 1);
    assert!(loaded.skipped[0].location.ends_with("notes.txt"));

    // Nor is a folder that is not a FER2013 class.
    save(&dir.0.join("train/contempt/Training_x.png"), &face(1));
    let loaded = load(&dir.0, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.dataset.len(), 21);
    assert!(
        loaded
            .skipped
            .iter()
            .any(|s| s.location.ends_with("train/contempt")),
        "{:?}",
        loaded.skipped
    );
}

#[test]
fn kaggle_folders_report_missing_class_folders_and_corrupt_images() {
    let dir = TempDir::new("folders-bad");
    kaggle_folders(&dir.0);
    std::fs::remove_dir_all(dir.0.join("test/disgust")).unwrap();
    let err = load(&dir.0, &LoadOptions::default()).unwrap_err();
    assert!(
        matches!(err, DataError::MissingClassFolder { ref path } if path.ends_with("test/disgust")),
        "{err}"
    );

    std::fs::write(
        dir.0.join("train/sad/Training_99.png"),
        b"\x89PNG\r\n\x1a\ntruncated",
    )
    .unwrap();
    let loaded = load(&dir.0, &LoadOptions::default().lenient()).unwrap();
    assert_eq!(loaded.dataset.len(), 21 - 2);
    let problems: Vec<_> = loaded.skipped.iter().map(|s| s.location.clone()).collect();
    assert!(
        problems.iter().any(|p| p.ends_with("test/disgust")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.ends_with("Training_99.png")),
        "{problems:?}"
    );
}

#[test]
fn an_empty_folder_is_an_error() {
    let dir = TempDir::new("folders-empty");
    let err = load(&dir.0, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::UnknownLayout { .. }), "{err}");
    for class in CLASSES {
        std::fs::create_dir_all(dir.0.join("train").join(class)).unwrap();
    }
    assert!(matches!(
        load(&dir.0, &LoadOptions::default()),
        Err(DataError::EmptyDataset { .. })
    ));
}

// ---------------------------------------------------------------- FER+

const FERPLUS_HEADER: &str =
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF";

#[test]
fn ferplus_layout_reads_votes_and_labels_by_mode() {
    let dir = TempDir::new("ferplus-ok");
    save(&dir.0.join("FER2013Train/fer0000000.png"), &face(1));
    save(&dir.0.join("FER2013Train/fer0000001.png"), &face(2));
    save(&dir.0.join("FER2013Valid/fer0000002.png"), &face(3));
    let csv = format!(
        "{FERPLUS_HEADER}\nTraining,fer0000000.png,2,6,2,0,0,0,0,0,0,0\n\
         Training,fer0000001.png,4,4,2,0,0,0,0,0,0,0\nTraining,,0,0,0,0,0,0,0,0,0,10\n\
         PublicTest,fer0000002.png,0,0,0,0,0,0,0,0,3,7\n"
    );
    std::fs::write(dir.0.join("fer2013new.csv"), csv).unwrap();
    let data = load(&dir.0, &LoadOptions::default()).unwrap().dataset;
    assert_eq!(data.len(), 3);
    assert_eq!(data.record(2).unwrap().split, Split::PublicTest);

    let strict = LabelledDataset::new(
        data.clone(),
        LabelMode::FerPlusMajority {
            rule: MajorityRule::Strict,
        },
    )
    .unwrap();
    assert_eq!(
        strict.len(),
        1,
        "4/4/2 has no strict majority; NF has no label"
    );
    assert_eq!(strict.item(0).unwrap().target, Target::Class(1));
    assert_eq!(strict.unlabelled(), 2);

    let soft = LabelledDataset::new(data.clone(), LabelMode::FerPlusDistribution).unwrap();
    assert_eq!(soft.len(), 2);
    assert_eq!(
        soft.item(1).unwrap().target,
        Target::Distribution([0.4, 0.4, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0])
    );

    let smile = LabelledDataset::new(data.clone(), LabelMode::SmileIntensity).unwrap();
    assert_eq!(smile.item(0).unwrap().target, Target::Intensity(0.6));

    let err = LabelledDataset::new(data, LabelMode::Fer2013).unwrap_err();
    assert!(
        err.to_string()
            .contains("FER2013 labels need a FER2013 source"),
        "{err}"
    );
}

#[test]
fn ferplus_label_csv_per_folder_and_bad_votes() {
    let dir = TempDir::new("ferplus-labelcsv");
    save(&dir.0.join("FER2013Test/fer0000010.png"), &face(9));
    std::fs::write(
        dir.0.join("FER2013Test/label.csv"),
        "fer0000010.png,\"(0, 0, 48, 48)\",0,0,9,1,0,0,0,0,0,0\n",
    )
    .unwrap();
    let data = load(&dir.0, &LoadOptions::default()).unwrap().dataset;
    assert_eq!(data.record(0).unwrap().split, Split::PrivateTest);
    assert_eq!(data.record(0).unwrap().votes.unwrap().0[2], 9);

    std::fs::write(
        dir.0.join("FER2013Test/label.csv"),
        "fer0000010.png,\"(0, 0, 48, 48)\",0,0,9,9,0,0,0,0,0,0\n",
    )
    .unwrap();
    let err = load(&dir.0, &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("add up to 18"), "{err}");

    std::fs::write(
        dir.0.join("FER2013Test/label.csv"),
        "fer0000099.png,\"(0, 0, 48, 48)\",0,0,9,1,0,0,0,0,0,0\n",
    )
    .unwrap();
    let err = load(&dir.0, &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no votes for this image"), "{err}");
}

// ---------------------------------------------------------------- row-indexed

fn row_indexed(dir: &Path, rows: &[(usize, &str, u8)]) {
    let mut labels = String::from("index,usage,emotion,class,path,pixel_sha1,source_path\n");
    let mut ferplus = String::from(
        "split,path,index,ferplus_image_name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n",
    );
    for &(index, usage, emotion) in rows {
        let class = CLASSES.get(emotion as usize).copied().unwrap_or("angry");
        let path = format!("{usage}/{class}/{index:08}.png");
        save(&dir.join(&path), &face(index as u8));
        writeln!(labels, "{index},{usage},{emotion},{class},{path},x,y").unwrap();
        writeln!(
            ferplus,
            "{usage},{path},{index},fer{index:07}.png,0,10,0,0,0,0,0,0,0,0"
        )
        .unwrap();
    }
    std::fs::write(dir.join("labels.csv"), labels).unwrap();
    std::fs::write(dir.join("ferplus.csv"), ferplus).unwrap();
}

#[test]
fn row_indexed_layout_joins_labels_and_votes() {
    let dir = TempDir::new("rows-ok");
    row_indexed(
        &dir.0,
        &[(0, "Training", 3), (1, "Training", 0), (2, "PublicTest", 6)],
    );
    let data = load(&dir.0, &LoadOptions::default()).unwrap().dataset;
    assert_eq!(data.len(), 3);
    assert_eq!(data.record(1).unwrap().fer2013, Some(0));
    assert_eq!(data.record(2).unwrap().split, Split::PublicTest);
    assert_eq!(data.record(2).unwrap().votes.unwrap().0[1], 10);
    assert_eq!(data.pixels(2).unwrap()[0], 2);
}

#[test]
fn row_indexed_rejects_inconsistent_rows() {
    let dir = TempDir::new("rows-bad");
    row_indexed(&dir.0, &[(0, "Training", 3)]);
    let labels = std::fs::read_to_string(dir.0.join("labels.csv")).unwrap();
    std::fs::write(
        dir.0.join("labels.csv"),
        labels.replace(",3,happy,", ",4,happy,"),
    )
    .unwrap();
    let err = load(&dir.0, &LoadOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("disagrees with emotion 4"),
        "{err}"
    );
    assert!(err.to_string().contains("line 2"), "{err}");
}

// ---------------------------------------------------------------- dataset operations

#[test]
fn cross_split_duplicates_are_removed_and_counted() {
    let dir = TempDir::new("dupes");
    // Faces are filled with their row index; add a PublicTest copy of Training row 1.
    row_indexed(
        &dir.0,
        &[(0, "Training", 3), (1, "Training", 0), (2, "PublicTest", 6)],
    );
    let mut data = load(&dir.0, &LoadOptions::default()).unwrap().dataset;
    let copy = data.filter(|i, _| i == 1).records()[0].clone();
    let mut extra = mien_data::FaceDataset::new(48, 48);
    extra
        .push(
            &face(1),
            mien_data::FaceRecord {
                split: Split::PublicTest,
                ..copy
            },
        )
        .unwrap();
    data.extend(extra).unwrap();
    assert_eq!(data.len(), 4);
    assert_eq!(data.remove_cross_split_duplicates(Split::Training), 1);
    assert_eq!(data.split(Split::PublicTest).len(), 1);
}
