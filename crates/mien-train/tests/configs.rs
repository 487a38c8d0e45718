//! Every experiment config shipped in `configs/` parses and passes validation, and invalid
//! settings are rejected with the field named.

use std::path::Path;

use mien_train::{ExperimentConfig, TrainError};

#[test]
fn shipped_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let config = ExperimentConfig::from_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            // Round trip through JSON keeps every setting.
            let json = serde_json::to_value(&config).unwrap();
            let again: ExperimentConfig = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(&again).unwrap(), json);
            checked += 1;
        }
    }
    assert!(checked >= 1, "no configs in {}", dir.display());
}

fn problem(json: &str) -> String {
    let dir = std::env::temp_dir().join(format!("mien-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(&path, json).unwrap();
    match ExperimentConfig::from_file(&path) {
        Err(TrainError::Config { location, problem }) => format!("{location}: {problem}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn invalid_configs_name_what_is_wrong() {
    let base = r#""name": "x", "model": {"backbone": {"architecture": "baseline_cnn"}}"#;
    assert!(problem(&format!("{{{base}, \"epochs\": 0}}")).contains("epochs"));
    assert!(problem(&format!("{{{base}, \"epochs\": 1, \"batch_size\": 1}}")).contains("batch"));
    let lr = problem(&format!(
        "{{{base}, \"epochs\": 1, \"optimizer\": {{\"kind\": \"sgd\", \"lr\": 5.0}}}}"
    ));
    assert!(lr.contains("lr = 5"), "{lr}");
    let smile = problem(&format!(
        "{{{base}, \"epochs\": 1, \"data\": {{\"labels\": {{\"mode\": \"smile_intensity\"}}}}}}"
    ));
    assert!(smile.contains("monitor"), "{smile}");
    // A typo in a field name is an error with its line and column, not silently ignored.
    let typo = problem(&format!("{{{base},\n \"epochz\": 3}}"));
    assert!(typo.contains(":2:") && typo.contains("epochz"), "{typo}");
}
