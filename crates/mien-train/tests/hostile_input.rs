//! Hostile training configs: arbitrary bytes and damaged copies of the committed configs
//! (`mien_core::fuzzing`) are a valid config or an error naming the file, never a panic.

use mien_core::fuzzing;
use mien_train::config::ExperimentConfig;
use proptest::prelude::*;

fn committed(name: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/");
    std::fs::read_to_string(format!("{root}{name}")).unwrap()
}

/// Parses `text` from a file, as `train --config` does.
fn from_file(text: &[u8], name: &str) -> Result<ExperimentConfig, mien_train::TrainError> {
    let path = std::env::temp_dir().join(format!("mien-hostile-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let config = ExperimentConfig::from_file(&path);
    std::fs::remove_file(&path).ok();
    config
}

proptest! {
    #![proptest_config(fuzzing::config())]

    #[test]
    fn hostile_configs_are_valid_or_errors_naming_the_file(
        simple in fuzzing::hostile_bytes(committed("baseline_cnn_fer2013.json").into_bytes()),
        multitask in fuzzing::mutation(committed("mini_xception_ferplus_multitask.json").into_bytes()),
    ) {
        for (text, name) in [(simple, "simple.json"), (multitask, "multitask.json")] {
            match from_file(&text, name) {
                Ok(config) => prop_assert!(config.validate().is_ok()),
                Err(e) => prop_assert!(e.to_string().contains(name), "{}", e),
            }
        }
    }
}
