//! Hostile model files: arbitrary bytes and damaged copies of a bundled `.safetensors` file
//! (`mien_core::fuzzing`) are a model or an error from `weights::load_bytes`, never a panic.
//! Most damage lands in the tensor data, which parses; the header takes the rest.

use std::path::Path;

use mien_core::fuzzing;
use mien_models::weights::{load_bytes, spec_from_bytes};
use proptest::prelude::*;

/// The smaller bundled model (mini-Xception with emotion and smile heads, 217 KB).
fn bundled() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/weights/ferplus_smile.safetensors"
    ))
    .unwrap()
}

/// A model file's header (the spec and the tensor table) with the first tensor's data only:
/// damage to it hits what is parsed rather than the weights.
fn header_heavy() -> Vec<u8> {
    let bytes = bundled();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[..(8 + header + 64).min(bytes.len())].to_vec()
}

proptest! {
    #![proptest_config(fuzzing::config())]

    #[test]
    fn hostile_headers_are_errors_not_panics(bytes in fuzzing::hostile_bytes(header_heavy())) {
        let _ = spec_from_bytes(&bytes, Path::new("fuzz.safetensors"));
    }

    #[test]
    fn damaged_model_files_load_or_fail_cleanly(bytes in fuzzing::mutation(bundled())) {
        let device = mien_core::device::cpu();
        if let Err(e) = load_bytes(&bytes, Path::new("fuzz.safetensors"), &device) {
            prop_assert!(e.to_string().contains("fuzz.safetensors"), "{}", e);
        }
    }
}
