//! The `mien` command line: JSON output, the annotated image, and bad input.

use std::path::PathBuf;
use std::process::Command;

fn mien() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mien"))
}

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
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
