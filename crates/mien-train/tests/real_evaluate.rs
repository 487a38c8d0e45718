//! The `evaluate` binary on the real FER2013 layout (`$MIEN_DATA/fer2013`): a multi-task model (emotion + smile heads) gets every report key,
//! including the FER+ and smile ones that the votes in `ferplus.csv` allow, on the PublicTest
//! faces that do not also occur in Training.

use std::process::Command;

use mien_core::{LabelSet, Preprocessing};
use mien_models::registry::Architecture;
use mien_models::weights::{self, HeadSpec, ModelSpec};

#[test]
fn evaluate_reports_every_key_on_the_real_public_test_split() {
    let Some(data) = mien_core::data_dir::test_data("fer2013").unwrap() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("mien-real-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = dir.join("multi.safetensors");
    let spec = ModelSpec::new(
        Architecture::MiniXception.default_config(),
        HeadSpec::MultiTask {
            label_set: LabelSet::Fer2013,
        },
        Preprocessing::default(),
    );
    let device = mien_core::device::cpu();
    weights::save(&spec.init(&device).unwrap(), &spec, &model_path).unwrap();

    let report_path = dir.join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_evaluate"))
        .arg("--model")
        .arg(&model_path)
        .arg("--data")
        .arg(&data)
        .args(["--split", "PublicTest", "--out"])
        .arg(&report_path)
        .env("MIEN_DEVICE", "cpu")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // 280 of PublicTest's 3,589 faces have the same pixels as a Training face.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("left out 280 faces"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["n"], 3309);
    assert_eq!(report["n_labelled"], 3309);
    for key in [
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion",
        "ferplus_majority_accuracy",
        "smile_pearson",
        "smile_mae",
    ] {
        assert!(
            report[key].is_number() || report[key].is_object() || report[key].is_array(),
            "{key}: {}",
            report[key]
        );
    }
    // The confusion matrix counts every labelled face once.
    let total: u64 = report["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(total, 3309);
    // FER+ majority exists for most PublicTest faces, not for "not a face" ones.
    let ferplus_n = report["ferplus_n"].as_u64().unwrap();
    assert!((2800..3309).contains(&ferplus_n), "{ferplus_n}");

    // A name that is neither a file nor a bundled model is an error that lists the bundled ones.
    let output = Command::new(env!("CARGO_BIN_EXE_evaluate"))
        .args(["--model", "no-such-model"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no-such-model") && stderr.contains("ferplus-smile"),
        "{stderr}"
    );

    // An absent split is an error that lists the splits present.
    let output = Command::new(env!("CARGO_BIN_EXE_evaluate"))
        .arg("--model")
        .arg(&model_path)
        .arg("--data")
        .arg(&data)
        .args(["--split", "PrivateTest"])
        .env("MIEN_DEVICE", "cpu")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PublicTest") && stderr.contains("Training"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
