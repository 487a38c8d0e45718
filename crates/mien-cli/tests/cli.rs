//! The `mien` command line: JSON output, the annotated image, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mien() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mien"))
}

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// Runs `mien batch <photos> --out <out>`.
fn batch(photos: &Path, out: &Path) -> Output {
    mien()
        .arg("batch")
        .arg(photos)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mien-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn analyze_prints_json_and_draws_the_annotated_photo() {
    let dir = temp_dir("json");
    let annotated = dir.join("annotated.png");
    let output = mien()
        .args(["analyze", "--json", "--annotate"])
        .arg(&annotated)
        .arg(fixture("astronaut.jpg"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let photo = &json[0]["analysis"];
    assert_eq!(photo["width"], 512);
    assert_eq!(photo["faces"].as_array().unwrap().len(), 1);
    let face = &photo["faces"][0];
    assert_eq!(face["emotion"], "happy");
    assert!(face["smile"].as_f64().unwrap() >= 8.0, "{face}");
    assert!(photo["rating"].as_f64().unwrap() > 0.5);
    let drawn = image::open(&annotated).unwrap().to_rgb8();
    let original = image::open(fixture("astronaut.jpg")).unwrap().to_rgb8();
    assert_eq!(drawn.dimensions(), original.dimensions());
    // The box's top edge is drawn in the box colour somewhere above the face.
    let x = face["face"]["x"].as_f64().unwrap() as u32 + 5;
    let y = face["face"]["y"].as_f64().unwrap() as u32;
    assert_eq!(drawn.get_pixel(x, y).0, [255, 200, 0]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn landmarks_go_into_the_json_and_onto_the_annotated_photo() {
    let dir = temp_dir("landmarks");
    let annotated = dir.join("mesh.png");
    let output = mien()
        .args(["analyze", "--json", "--landmarks", "--annotate"])
        .arg(&annotated)
        .arg(fixture("astronaut.jpg"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let points = json[0]["analysis"]["faces"][0]["landmarks"]["found"]["points"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(points.len(), 468);
    // The nose tip (point 1) is drawn in the mesh colour.
    let drawn = image::open(&annotated).unwrap().to_rgb8();
    let nose = &points[1];
    let (x, y) = (nose[0].as_f64().unwrap(), nose[1].as_f64().unwrap());
    assert_eq!(drawn.get_pixel(x as u32, y as u32).0, [80, 255, 120]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_table_names_each_face() {
    let output = mien()
        .arg("analyze")
        .arg(fixture("astronaut.jpg"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("1 face, rating"), "{text}");
    assert!(text.contains("happy"), "{text}");
}

#[test]
fn single_pass_reads_the_face_once_and_gives_other_probabilities() {
    let probabilities = |extra: &[&str]| -> Vec<f64> {
        let output = mien()
            .args(["analyze", "--json"])
            .args(extra)
            .arg(fixture("astronaut.jpg"))
            .output()
            .unwrap();
        assert!(output.status.success());
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let face = &json[0]["analysis"]["faces"][0];
        assert_eq!(face["emotion"], "happy");
        face["emotions"]["probabilities"]
            .as_array()
            .unwrap_or_else(|| panic!("{face}"))
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect()
    };
    let averaged = probabilities(&[]);
    let single = probabilities(&["--single-pass"]);
    assert_eq!(averaged.len(), 8);
    assert_ne!(averaged, single);
}

#[test]
fn bad_files_are_reported_and_fail_only_when_nothing_worked() {
    let dir = temp_dir("bad");
    let text = dir.join("notes.jpg");
    std::fs::write(&text, "this is text, not a JPEG").unwrap();
    let empty = dir.join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.join("missing.jpg");

    // Only bad files: a message for each, non-zero exit.
    let output = mien()
        .arg("analyze")
        .args([&text, &empty, &missing])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    for name in ["notes.jpg", "empty.png", "missing.jpg"] {
        assert!(stderr.contains(name), "{name} not named in: {stderr}");
    }

    // One good photo among them: the run succeeds, JSON has the errors.
    let output = mien()
        .args(["analyze", "--json"])
        .arg(&text)
        .arg(fixture("astronaut.jpg"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json[0]["error"].as_str().unwrap().contains("notes.jpg"));
    assert_eq!(json[1]["analysis"]["faces"].as_array().unwrap().len(), 1);

    // A folder is not an image; an unknown model name is a usage error.
    let output = mien().arg("analyze").arg(&dir).output().unwrap();
    assert!(!output.status.success());
    let output = mien()
        .args(["analyze", "--model", "nope"])
        .arg(fixture("astronaut.jpg"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("ferplus-smile"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn batch_writes_csv_summary_and_annotated_copies_and_lists_bad_files() {
    let dir = temp_dir("batch");
    let photos = dir.join("photos");
    std::fs::create_dir_all(photos.join("trip/day 1")).unwrap();
    std::fs::copy(
        fixture("astronaut.jpg"),
        photos.join("trip/day 1/astronaut.JPG"),
    )
    .unwrap();
    std::fs::copy(fixture("astronaut_cmyk.jpg"), photos.join("cmyk.jpg")).unwrap();
    std::fs::write(photos.join("broken.png"), b"\x89PNG\r\n\x1a\ncut short").unwrap();
    std::fs::write(photos.join("notes.txt"), "not a photo").unwrap();
    let out = dir.join("out");

    let output = batch(&photos, &out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("broken.png"), "{stderr}");
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("2 of 3 photos analysed")
    );

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["photos"].as_u64(), summary["analysed"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(summary["faces"], 2);
    assert_eq!(summary["emotions"]["happy"], 2);
    assert_eq!(summary["unreadable"][0]["path"], "broken.png");
    assert!(
        summary["unreadable"][0]["error"]
            .as_str()
            .unwrap()
            .contains("broken.png")
    );

    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[0].starts_with("file,face,x,y,width,height"));
    assert!(
        rows.iter()
            .any(|r| r.starts_with("trip/day 1/astronaut.JPG,1,")),
        "{csv}"
    );
    // Smile column agrees with the summary's mean.
    let smiles: Vec<f64> = rows[1..]
        .iter()
        .map(|r| r.split(',').nth(9).unwrap().parse().unwrap())
        .collect();
    let mean = smiles.iter().sum::<f64>() / smiles.len() as f64;
    assert!((mean - summary["mean_smile"].as_f64().unwrap()).abs() < 1e-3);

    let annotated = image::open(out.join("annotated/trip/day 1/astronaut.JPG")).unwrap();
    assert_eq!((annotated.width(), annotated.height()), (512, 512));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn batch_on_a_folder_without_photos_fails_with_a_message() {
    let dir = temp_dir("batch-empty");
    std::fs::write(dir.join("readme.txt"), "no photos here").unwrap();
    let output = batch(&dir, &dir.join("out"));
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("no .jpg, .jpeg or .png files"), "{stderr}");
    let missing = dir.join("missing");
    let output = batch(&missing, &dir.join("out"));
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("missing")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn export_writes_the_bundled_model_as_onnx_and_refuses_a_truncated_file() {
    let dir = temp_dir("export");
    let out = dir.join("default.onnx");
    let output = mien()
        .args(["export", "--model", "default", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("mini_xception") && stdout.contains("opset 17"),
        "{stdout}"
    );
    // Same bytes as the library writes; the library's tests check them against onnxruntime.
    let saved = mien::Pretrained::Default
        .load(&mien::core::device::cpu())
        .unwrap();
    let expected = mien::models::onnx::export(&saved).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), expected);

    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &mien::Pretrained::Default.bytes()[..1000]).unwrap();
    let output = mien()
        .args(["export", "--model"])
        .arg(&truncated)
        .arg("--out")
        .arg(dir.join("truncated.onnx"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("truncated.safetensors"), "{stderr}");
    assert!(!dir.join("truncated.onnx").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn happier_edits_the_face_and_leaves_a_photo_without_faces_unchanged() {
    let dir = temp_dir("happier");
    let out = dir.join("happier.png");
    let output = mien()
        .arg("happier")
        .arg(fixture("astronaut.jpg"))
        .args(["--strength", "-2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1 face made less happy"), "{stdout}");
    let original = mien::open_image(fixture("astronaut.jpg")).unwrap();
    let edited = mien::open_image(&out).unwrap();
    assert_eq!(
        (edited.width(), edited.height()),
        (original.width(), original.height())
    );
    assert_ne!(edited.to_rgb8().as_raw(), original.to_rgb8().as_raw());

    let blank = dir.join("blank.png");
    image::GrayImage::from_pixel(64, 48, image::Luma([200]))
        .save(&blank)
        .unwrap();
    let unchanged = dir.join("unchanged.png");
    let output = mien()
        .arg("happier")
        .arg(&blank)
        .arg("--out")
        .arg(&unchanged)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("no faces"));
    assert_eq!(
        mien::open_image(&unchanged).unwrap().to_luma8().as_raw(),
        mien::open_image(&blank).unwrap().to_luma8().as_raw()
    );

    let output = mien()
        .arg("happier")
        .arg(&blank)
        .args(["--strength", "7", "--out"])
        .arg(dir.join("never.png"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("outside -2..=2"));
    std::fs::remove_dir_all(&dir).ok();
}
