//! ONNX export of models (feature `onnx`): the model's description ([`crate::weights::Model::describe`])
//! written as an ONNX file (opset 17, float32, dynamic batch) that other runtimes run with
//! the same results (`tools/onnx_check.py` checks onnxruntime against mien for every
//! architecture).
//!
//! The file takes `image`, `[batch, C, H, W]` floats as the model's preprocessing makes them,
//! and gives `probabilities` (`[batch, classes]`) and/or `smile` (`[batch, 1]`). Its metadata
//! says how to make the input and what the outputs mean:
//!
//! | key | value |
//! | --- | --- |
//! | `mien.preprocessing` | the [`mien_core::Preprocessing`] as JSON (size, colour, crop, range, mean, std) |
//! | `mien.labels` | the emotion class names in output order, comma-separated |
//! | `mien.spec` | the whole [`ModelSpec`] as JSON |
//! | `mien.architecture` | the backbone's name |
//!
//! ```
//! use mien_models::pretrained::Pretrained;
//!
//! let saved = Pretrained::FerPlusSmile.load(&mien_core::device::cpu())?;
//! let bytes = mien_models::onnx::export(&saved)?;
//! assert!(bytes.len() > 100_000);
//! # Ok::<(), mien_models::weights::ModelError>(())
//! ```

use std::path::Path;

use mien_core::graph::onnx;

use crate::weights::{HeadSpec, ModelError, ModelSpec, SavedModel};

/// `saved` as the bytes of an ONNX model file.
///
/// # Errors
/// [`ModelError::Graph`] when the network cannot be described or encoded.
pub fn export(saved: &SavedModel) -> Result<Vec<u8>, ModelError> {
    let network = saved.model.describe()?;
    Ok(onnx::export(&network, &metadata(&saved.spec)?)?)
}

/// Writes `saved` as an ONNX model file to `path` (overwriting it) and returns its size in
/// bytes.
///
/// # Errors
/// As [`export`], and [`ModelError::Io`] when the file cannot be written.
pub fn export_to(saved: &SavedModel, path: impl AsRef<Path>) -> Result<usize, ModelError> {
    let path = path.as_ref();
    let bytes = export(saved)?;
    std::fs::write(path, &bytes).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(bytes.len())
}

/// The metadata an exported file carries (see the [module docs](self)).
fn metadata(spec: &ModelSpec) -> Result<Vec<(String, String)>, ModelError> {
    let mut entries = vec![
        ("mien.spec".to_owned(), json(spec)?),
        ("mien.preprocessing".to_owned(), json(&spec.preprocessing)?),
        (
            "mien.architecture".to_owned(),
            spec.backbone.architecture().to_string(),
        ),
    ];
    if let HeadSpec::Emotion { label_set } | HeadSpec::MultiTask { label_set } = spec.head {
        let labels: Vec<String> = (0..label_set.num_classes())
            .filter_map(|i| label_set.emotion(i))
            .map(|emotion| emotion.to_string())
            .collect();
        entries.push(("mien.labels".to_owned(), labels.join(",")));
    }
    Ok(entries)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, ModelError> {
    serde_json::to_string(value)
        .map_err(|e| ModelError::InvalidSpec(format!("cannot write the spec as JSON: {e}")))
}
