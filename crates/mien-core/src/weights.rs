//! The one loader of trained weights for every network mien runs (models, the face
//! detector, the eyes-open classifier): safetensors bytes into a burn module, with every
//! missing, unexpected and mismatched tensor reported by name.
//!
//! ```
//! use burn::module::Module;
//! use burn::nn::LinearConfig;
//!
//! let device = mien_core::device::cpu();
//! let layer = LinearConfig::new(3, 2).init(&device);
//! // A file without tensors cannot hold the layer's 8 parameters.
//! let empty = safetensors::serialize(Vec::<(&str, safetensors::tensor::TensorView)>::new(), None)?;
//! let error = mien_core::weights::load_module(layer, &empty).unwrap_err();
//! assert_eq!(error.to_string(), "the network has 8 parameters, the file holds 0 values");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use burn::module::Module;
use burn::store::{ApplyResult, ModuleSnapshot, SafetensorsStore};

/// Why weights could not be loaded into a network.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// Not a readable safetensors file (truncated, corrupt, or another format).
    #[error(
        "not a readable safetensors file ({message}); was it truncated or is it another format?"
    )]
    NotSafetensors {
        /// The parser's message.
        message: String,
    },
    /// The network needs more values than the file holds, refused before any are allocated
    /// (burn creates parameters lazily, so a damaged spec could otherwise claim terabytes).
    #[error("the network has {needed} parameters, the file holds {stored} values")]
    TooFew {
        /// Parameters of the network.
        needed: usize,
        /// Values in the file's tensors.
        stored: usize,
    },
    /// Tensors that do not fit the network.
    #[error("{}", describe(missing, unexpected, mismatched))]
    Mismatch {
        /// The network's parameters the file lacks.
        missing: Vec<String>,
        /// The file's tensors the network has no parameter for.
        unexpected: Vec<String>,
        /// Tensors whose shape or type does not fit their parameter, with burn's reason.
        mismatched: Vec<String>,
    },
}

/// Loads safetensors `bytes` into `module`: every parameter must be in the file with its
/// shape, and every tensor of the file must be a parameter.
///
/// # Errors
/// [`WeightsError::NotSafetensors`], [`WeightsError::TooFew`] or [`WeightsError::Mismatch`].
pub fn load_module<M: Module>(mut module: M, bytes: &[u8]) -> Result<M, WeightsError> {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| {
        WeightsError::NotSafetensors {
            message: e.to_string(),
        }
    })?;
    let stored = metadata
        .tensors()
        .values()
        .map(|info| info.shape.iter().fold(1usize, |n, &d| n.saturating_mul(d)))
        .fold(0usize, usize::saturating_add);
    let needed = module.num_params();
    if needed > stored {
        return Err(WeightsError::TooFew { needed, stored });
    }
    // Without burn's validation, shape errors come back in the result with the other
    // problems instead of ending the load at the first.
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()))
        .validate(false)
        .allow_partial(true);
    let result = module
        .load_from(&mut store)
        .map_err(|e| WeightsError::NotSafetensors {
            message: e.to_string(),
        })?;
    check(&result)?;
    Ok(module)
}

/// Every problem of a load, or nothing.
fn check(result: &ApplyResult) -> Result<(), WeightsError> {
    if result.missing.is_empty() && result.unused.is_empty() && result.errors.is_empty() {
        return Ok(());
    }
    Err(WeightsError::Mismatch {
        missing: result
            .missing
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
        unexpected: result.unused.clone(),
        mismatched: result.errors.iter().map(ToString::to_string).collect(),
    })
}

/// "2 tensors missing (a, b); 1 unexpected (c)": at most five names of each.
fn describe(missing: &[String], unexpected: &[String], mismatched: &[String]) -> String {
    let list = |what: &str, names: &[String]| {
        let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
        let more = if names.len() > 5 {
            format!(", and {} more", names.len() - 5)
        } else {
            String::new()
        };
        format!("{} {what} ({}{more})", names.len(), shown.join(", "))
    };
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(list("tensors missing", missing));
    }
    if !unexpected.is_empty() {
        parts.push(list("unexpected tensors", unexpected));
    }
    if !mismatched.is_empty() {
        parts.push(list("tensors that do not fit", mismatched));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use safetensors::tensor::{Dtype, TensorView};

    use super::*;

    /// Safetensors bytes holding `tensors` (name, shape, values).
    fn file(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let views: Vec<(&str, TensorView)> = tensors
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), data)| {
                (
                    *name,
                    TensorView::new(Dtype::F32, shape.clone(), data).unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    fn layer() -> Linear {
        LinearConfig::new(3, 2).init(&crate::device::cpu())
    }

    #[test]
    fn a_fitting_file_loads_its_values() {
        let weight: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let bytes = file(&[
            ("weight", vec![3, 2], weight.clone()),
            ("bias", vec![2], vec![0.5, -0.5]),
        ]);
        let loaded = load_module(layer(), &bytes).unwrap();
        assert_eq!(crate::read_f32(loaded.weight.val()).unwrap(), weight);
        assert_eq!(
            crate::read_f32(loaded.bias.unwrap().val()).unwrap(),
            [0.5, -0.5]
        );
    }

    #[test]
    fn every_problem_is_named() {
        let bytes = file(&[
            ("weight", vec![2, 3], vec![0.0; 6]),
            ("other", vec![4], vec![0.0; 4]),
        ]);
        let error = load_module(layer(), &bytes).unwrap_err();
        let WeightsError::Mismatch {
            missing,
            unexpected,
            mismatched,
        } = &error
        else {
            panic!("{error}")
        };
        assert_eq!(missing, &["bias"]);
        assert_eq!(unexpected, &["other"]);
        assert_eq!(mismatched.len(), 1, "{error}");
        let message = error.to_string();
        for name in ["bias", "other", "weight"] {
            assert!(message.contains(name), "{message}");
        }
    }

    #[test]
    fn too_small_and_broken_files_are_refused_before_loading() {
        let small = file(&[("weight", vec![3, 2], vec![0.0; 6])]);
        assert!(matches!(
            load_module(layer(), &small),
            Err(WeightsError::TooFew {
                needed: 8,
                stored: 6
            })
        ));
        let whole = file(&[
            ("weight", vec![3, 2], vec![0.0; 6]),
            ("bias", vec![2], vec![0.0; 2]),
        ]);
        for cut in [0, 7, whole.len() / 2, whole.len() - 1] {
            let error = load_module(layer(), &whole[..cut]).unwrap_err();
            assert!(
                matches!(error, WeightsError::NotSafetensors { .. }),
                "{cut}: {error}"
            );
        }
    }
}
