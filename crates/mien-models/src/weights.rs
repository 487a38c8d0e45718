//! Saving and loading models as self-describing safetensors files.
//!
//! A file holds the weights (safetensors, readable from PyTorch with `safetensors.torch`)
//! and, under the metadata key `"mien"`, the [`ModelSpec`] as JSON: architecture and its
//! configuration, head, label set and preprocessing. Loading needs nothing but the file.
//!
//! ```
//! use mien_models::registry::Architecture;
//! use mien_models::weights::{HeadSpec, ModelSpec, load, save};
//! use mien_core::{LabelSet, Preprocessing};
//!
//! let device = mien_core::device::cpu();
//! let spec = ModelSpec::new(
//!     Architecture::MiniXception.default_config(),
//!     HeadSpec::Emotion { label_set: LabelSet::Fer2013 },
//!     Preprocessing::default(),
//! );
//! let model = spec.init(&device)?;
//! let path = std::env::temp_dir().join("mien-doc-example.safetensors");
//! save(&model, &spec, &path)?;
//! let loaded = load(&path, &device)?;
//! assert_eq!(loaded.spec.backbone.architecture(), Architecture::MiniXception);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), mien_models::weights::ModelError>(())
//! ```

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::activation::{sigmoid, softmax};
use mien_core::graph::layers::{activate, dense};
use mien_core::graph::{Activation, GraphError, Network, Op};
use mien_core::weights::WeightsError;
use mien_core::{Backbone, LabelSet, Preprocessing};
use serde::{Deserialize, Serialize};

use crate::registry::{AnyBackbone, BackboneConfig};
use crate::{
    Classifier, ClassifierConfig, MultiTask, MultiTaskConfig, SmileRegressor, SmileRegressorConfig,
};

/// The safetensors metadata key under which the [`ModelSpec`] is stored.
pub const METADATA_KEY: &str = "mien";

/// The spec format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The name of the emotion probabilities in a [`Model::describe`]d network (and its ONNX
/// export).
pub const PROBABILITIES_OUTPUT: &str = "probabilities";
/// The name of the smile intensity in a [`Model::describe`]d network (and its ONNX export).
pub const SMILE_OUTPUT: &str = "smile";
/// The name of the feature vector in a [`Model::describe_features`] network.
pub const FEATURES_OUTPUT: &str = "features";

/// Which head sits on the backbone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeadSpec {
    /// Emotion classes of a label set.
    Emotion {
        /// What the class indices mean.
        label_set: LabelSet,
    },
    /// Smile intensity in `[0, 1]`.
    Smile,
    /// Emotion classes and smile intensity from one backbone.
    MultiTask {
        /// What the class indices mean.
        label_set: LabelSet,
    },
}

/// Everything needed to rebuild a saved model: saved inside the weights file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSpec {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u32,
    /// The backbone's architecture and configuration.
    pub backbone: BackboneConfig,
    /// The head.
    pub head: HeadSpec,
    /// How images become the model's input.
    pub preprocessing: Preprocessing,
}

impl ModelSpec {
    /// A spec in the current format.
    pub fn new(backbone: BackboneConfig, head: HeadSpec, preprocessing: Preprocessing) -> Self {
        Self {
            format: FORMAT_VERSION,
            backbone,
            head,
            preprocessing,
        }
    }

    /// Builds the model with freshly initialised weights.
    ///
    /// # Errors
    /// [`ModelError::InvalidSpec`] when the preprocessing does not produce the backbone's
    /// input shape.
    pub fn init(&self, device: &Device) -> Result<Model, ModelError> {
        self.init_with_head_dropout(0.0, device)
    }

    /// Like [`ModelSpec::init`], with dropout of probability `head_dropout` between the
    /// backbone's features and the head (for training; inference ignores dropout).
    ///
    /// # Errors
    /// As [`ModelSpec::init`].
    pub fn init_with_head_dropout(
        &self,
        head_dropout: f64,
        device: &Device,
    ) -> Result<Model, ModelError> {
        self.backbone
            .input()
            .check(&self.preprocessing)
            .map_err(|e| ModelError::InvalidSpec(e.to_string()))?;
        let backbone = self.backbone.init(device);
        Ok(match self.head {
            HeadSpec::Emotion { label_set } => Model::Emotion(
                ClassifierConfig::new(label_set.num_classes())
                    .with_dropout(head_dropout)
                    .init(backbone, device),
            ),
            HeadSpec::Smile => Model::Smile(
                SmileRegressorConfig::new()
                    .with_dropout(head_dropout)
                    .init(backbone, device),
            ),
            HeadSpec::MultiTask { label_set } => Model::MultiTask(
                MultiTaskConfig::new(label_set.num_classes())
                    .with_dropout(head_dropout)
                    .init(backbone, device),
            ),
        })
    }
}

/// A model of any architecture and head, as loaded from a file.
#[derive(Module, Debug)]
pub enum Model {
    /// Emotion classification.
    Emotion(Classifier<AnyBackbone>),
    /// Smile intensity.
    Smile(SmileRegressor<AnyBackbone>),
    /// Both.
    MultiTask(MultiTask<AnyBackbone>),
}

/// What a [`Model`] outputs for a batch, as probabilities.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Emotion class probabilities `[N, classes]` (softmax), for emotion and multi-task heads.
    pub probabilities: Option<Tensor<2>>,
    /// Smile intensity in `[0, 1]` `[N]` (sigmoid), for smile and multi-task heads.
    pub smile: Option<Tensor<1>>,
}

impl Model {
    /// Every head's output for `images` (`[N, C, H, W]` as the spec's preprocessing makes
    /// them), as probabilities. Call on a model in validation mode (`Module::valid`) for
    /// inference.
    pub fn predict(&self, images: Tensor<4>) -> Prediction {
        match self {
            Model::Emotion(c) => Prediction {
                probabilities: Some(softmax(c.forward(images), 1)),
                smile: None,
            },
            Model::Smile(s) => Prediction {
                probabilities: None,
                smile: Some(s.intensity(images)),
            },
            Model::MultiTask(m) => {
                let out = m.forward(images);
                Prediction {
                    probabilities: Some(softmax(out.emotion_logits, 1)),
                    smile: Some(sigmoid(out.smile_logits)),
                }
            }
        }
    }

    /// The model's inference pass as a [`Network`], the one description that mien's CPU
    /// interpreter ([`crate::native`]) and ONNX export run: the image in, the outputs
    /// [`PROBABILITIES_OUTPUT`] (`[classes]`) and/or [`SMILE_OUTPUT`] (`[1]`) as
    /// [`Model::predict`] gives them.
    ///
    /// # Errors
    /// [`GraphError`] when a layer cannot be described or its weights read.
    pub fn describe(&self) -> Result<Network, GraphError> {
        let backbone = self.backbone();
        let (mut net, image) = Network::new(backbone.input_shape());
        let features = backbone.describe(&mut net, image)?;
        let (emotion, smile) = match self {
            Model::Emotion(m) => (Some(("head", &m.head)), None),
            Model::Smile(m) => (None, Some(("head", &m.head))),
            Model::MultiTask(m) => (
                Some(("emotion_head", &m.emotion_head)),
                Some(("smile_head", &m.smile_head)),
            ),
        };
        if let Some((name, head)) = emotion {
            let logits = dense(&mut net, name, head, features)?;
            let probabilities = net.push(format!("{name}.softmax"), Op::Softmax, &[logits])?;
            net.output(PROBABILITIES_OUTPUT, probabilities);
        }
        if let Some((name, head)) = smile {
            let logit = dense(&mut net, name, head, features)?;
            let intensity = activate(&mut net, name, Activation::Sigmoid, logit)?;
            net.output(SMILE_OUTPUT, intensity);
        }
        Ok(net)
    }

    /// The backbone's inference pass as a [`Network`] whose one output,
    /// [`FEATURES_OUTPUT`], is the feature vector (`[feature_dim]`) the heads read: for
    /// exporting a face embedding, or checking a backbone's description on its own.
    ///
    /// # Errors
    /// [`GraphError`] when a layer cannot be described or its weights read.
    pub fn describe_features(&self) -> Result<Network, GraphError> {
        let backbone = self.backbone();
        let (mut net, image) = Network::new(backbone.input_shape());
        let features = backbone.describe(&mut net, image)?;
        net.output(FEATURES_OUTPUT, features);
        Ok(net)
    }

    /// The backbone, whatever the head.
    pub fn backbone(&self) -> &AnyBackbone {
        match self {
            Model::Emotion(m) => &m.backbone,
            Model::Smile(m) => &m.backbone,
            Model::MultiTask(m) => &m.backbone,
        }
    }
}

/// A loaded model and the spec it was saved with.
#[derive(Debug)]
pub struct SavedModel {
    /// How to rebuild and feed the model.
    pub spec: ModelSpec,
    /// The model with its saved weights.
    pub model: Model,
}

/// What can go wrong saving or loading a model file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file could not be read or written.
    #[error("cannot access model file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Not a valid safetensors file (truncated, corrupt, or another format).
    #[error(
        "{path} is not a readable safetensors file ({message}); was it truncated or is it another format?"
    )]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A safetensors file without mien's metadata, or with metadata this version cannot read.
    #[error(
        "{path} has no usable mien model spec ({message}); save models with mien_models::weights::save"
    )]
    BadSpec {
        /// The file.
        path: PathBuf,
        /// What is wrong with the metadata.
        message: String,
    },
    /// The tensors do not fit the architecture the spec names.
    #[error("the weights in {path} do not fit a {architecture} model: {message}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The architecture the spec names.
        architecture: String,
        /// Which tensors are missing, unexpected or mis-shaped.
        message: String,
    },
    /// A spec that cannot be built.
    #[error("invalid model spec: {0}")]
    InvalidSpec(String),
    /// The backend could not hand over the weights.
    #[error("cannot read the model's weights from the backend: {0}")]
    Backend(#[from] mien_core::Error),
    /// The network could not be described, compiled or exported.
    #[error("cannot describe the network: {0}")]
    Graph(#[from] GraphError),
}

/// Saves `model` and its `spec` to `path` (overwriting it).
///
/// # Errors
/// [`ModelError::Io`] when the file cannot be written.
pub fn save(model: &Model, spec: &ModelSpec, path: impl AsRef<Path>) -> Result<(), ModelError> {
    let path = path.as_ref();
    let json = serde_json::to_string(spec).map_err(|e| ModelError::InvalidSpec(e.to_string()))?;
    let mut store = SafetensorsStore::from_file(path)
        .metadata(METADATA_KEY, json)
        .overwrite(true);
    model.save_into(&mut store).map_err(|e| ModelError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Reads the [`ModelSpec`] of a model file without loading its weights.
///
/// # Errors
/// [`ModelError::Io`], [`ModelError::NotSafetensors`] or [`ModelError::BadSpec`].
pub fn read_spec(path: impl AsRef<Path>) -> Result<ModelSpec, ModelError> {
    let path = path.as_ref();
    spec_from_bytes(&read_file(path)?, path)
}

fn read_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The [`ModelSpec`] in the metadata of safetensors `bytes`; `origin` names them in errors.
///
/// # Errors
/// [`ModelError::NotSafetensors`] or [`ModelError::BadSpec`].
pub fn spec_from_bytes(bytes: &[u8], origin: &Path) -> Result<ModelSpec, ModelError> {
    let path = origin;
    let (_, metadata) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| ModelError::NotSafetensors {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    let bad_spec = |message: String| ModelError::BadSpec {
        path: path.to_owned(),
        message,
    };
    let json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or_else(|| bad_spec(format!("no {METADATA_KEY:?} metadata")))?;
    let spec: ModelSpec = serde_json::from_str(json).map_err(|e| bad_spec(e.to_string()))?;
    if spec.format != FORMAT_VERSION {
        return Err(bad_spec(format!(
            "format {} is not the supported {FORMAT_VERSION}; use the mien version that wrote it",
            spec.format
        )));
    }
    Ok(spec)
}

/// Loads a model file: reads its spec, builds the model on `device`, loads the weights.
///
/// # Errors
/// Those of [`read_spec`], and [`ModelError::Mismatch`] when the tensors do not fit the
/// architecture (a missing, unexpected or wrongly shaped tensor).
pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<SavedModel, ModelError> {
    let path = path.as_ref();
    load_bytes(&read_file(path)?, path, device)
}

/// [`load`] from the bytes of a model file (e.g. weights embedded with `include_bytes!`);
/// `origin` names them in errors.
///
/// # Errors
/// As [`load`], without [`ModelError::Io`].
pub fn load_bytes(bytes: &[u8], origin: &Path, device: &Device) -> Result<SavedModel, ModelError> {
    let path = origin;
    let spec = spec_from_bytes(bytes, path)?;
    // A spec that parses but cannot be built is the file's fault: say which file.
    let model = spec.init(device).map_err(|e| match e {
        ModelError::InvalidSpec(message) => ModelError::BadSpec {
            path: path.to_owned(),
            message,
        },
        other => other,
    })?;
    let mismatch = |message: String| ModelError::Mismatch {
        path: path.to_owned(),
        architecture: spec.backbone.architecture().to_string(),
        message,
    };
    let model = mien_core::weights::load_module(model, bytes).map_err(|e| match e {
        WeightsError::NotSafetensors { message } => ModelError::NotSafetensors {
            path: path.to_owned(),
            message,
        },
        other => mismatch(other.to_string()),
    })?;
    debug_assert_eq!(model.backbone().input_shape(), spec.backbone.input());
    Ok(SavedModel { spec, model })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Architecture;
    use burn::tensor::Distribution;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "mien-weights-{name}-{}.safetensors",
            std::process::id()
        ))
    }

    fn emotion_spec(architecture: Architecture) -> ModelSpec {
        ModelSpec::new(
            architecture.default_config(),
            HeadSpec::Emotion {
                label_set: LabelSet::FerPlus,
            },
            Preprocessing::default(),
        )
    }

    fn logits(model: &Model, x: Tensor<4>) -> TensorData {
        match model {
            Model::Emotion(m) => m.forward(x).into_data(),
            Model::Smile(m) => m.forward(x).into_data(),
            Model::MultiTask(m) => m.forward(x).emotion_logits.into_data(),
        }
    }

    #[test]
    fn save_then_load_gives_identical_outputs_for_every_architecture() {
        let device = mien_core::device::cpu();
        let x = Tensor::<4>::random([2, 1, 48, 48], Distribution::Default, &device);
        for architecture in Architecture::ALL {
            let spec = emotion_spec(architecture);
            let model = spec.init(&device).unwrap();
            let path = temp(architecture.name());
            save(&model, &spec, &path).unwrap();
            let loaded = load(&path, &device).unwrap();
            std::fs::remove_file(&path).ok();
            assert_eq!(loaded.spec.backbone.architecture(), architecture);
            assert_eq!(loaded.spec.head, spec.head);
            assert_eq!(loaded.spec.preprocessing, spec.preprocessing);
            logits(&loaded.model, x.clone()).assert_eq(&logits(&model, x.clone()), true);
        }
    }

    #[test]
    fn smile_and_multi_task_models_round_trip() {
        let device = mien_core::device::cpu();
        let x = Tensor::<4>::random([1, 1, 48, 48], Distribution::Default, &device);
        for head in [
            HeadSpec::Smile,
            HeadSpec::MultiTask {
                label_set: LabelSet::Fer2013,
            },
        ] {
            let spec = ModelSpec::new(
                Architecture::MiniXception.default_config(),
                head,
                Preprocessing::default(),
            );
            let model = spec.init(&device).unwrap();
            let path = temp("heads");
            save(&model, &spec, &path).unwrap();
            let loaded = load(&path, &device).unwrap();
            std::fs::remove_file(&path).ok();
            logits(&loaded.model, x.clone()).assert_eq(&logits(&model, x.clone()), true);
        }
    }

    #[test]
    fn truncated_foreign_and_mismatched_files_are_clear_errors() {
        let device = mien_core::device::cpu();
        let spec = emotion_spec(Architecture::MiniXception);
        let path = temp("errors");
        save(&spec.init(&device).unwrap(), &spec, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();

        // Truncated: cut in the middle of the tensor data.
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = load(&path, &device).unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::NotSafetensors { .. } | ModelError::Mismatch { .. }
            ),
            "{err}"
        );
        // Truncated inside the header.
        std::fs::write(&path, &bytes[..20]).unwrap();
        assert!(matches!(
            load(&path, &device),
            Err(ModelError::NotSafetensors { .. })
        ));
        // Not a safetensors file at all.
        std::fs::write(&path, b"PK\x03\x04 a zip file").unwrap();
        assert!(matches!(
            load(&path, &device),
            Err(ModelError::NotSafetensors { .. })
        ));

        // Rewrites the spec inside the header, keeping its length (JSON allows trailing spaces).
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
        let forge = |from: &str, to: &str| {
            let forged = header.replace(from, to);
            assert_ne!(forged, header, "{from} is in the header");
            let mut file = (header_len as u64).to_le_bytes().to_vec();
            file.extend_from_slice(format!("{forged:<header_len$}").as_bytes());
            file.extend_from_slice(&bytes[8 + header_len..]);
            std::fs::write(&path, file).unwrap();
            load(&path, &device).unwrap_err()
        };
        // Another architecture's name over mini-Xception's configuration.
        let err = forge("\\\"mini_xception\\\"", "\\\"resnet18\\\"");
        assert!(matches!(err, ModelError::BadSpec { .. }), "{err}");
        // 7 FER2013 classes claimed for an 8-class FER+ head: the tensors do not fit.
        let err = forge("\\\"ferplus\\\"", "\\\"fer2013\\\"");
        assert!(
            matches!(err, ModelError::Mismatch { ref architecture, .. } if architecture == "mini_xception"),
            "{err}"
        );
        assert!(
            err.to_string().contains("head.weight"),
            "the message names the tensor: {err}"
        );

        std::fs::remove_file(&path).ok();
        assert!(matches!(load(&path, &device), Err(ModelError::Io { .. })));
    }

    /// A spec claiming a network a million channels wide over a small network's tensors
    /// would need terabytes; it is refused without allocating them.
    #[test]
    fn a_spec_far_larger_than_its_tensors_is_refused_before_allocating() {
        let device = mien_core::device::cpu();
        let small = emotion_spec(Architecture::MiniXception);
        let model = small.init(&device).unwrap();
        let huge = ModelSpec::new(
            BackboneConfig::MiniXception(
                crate::backbones::mini_xception::MiniXceptionConfig::new()
                    .with_module_channels(vec![1 << 20; 4]),
            ),
            small.head,
            small.preprocessing.clone(),
        );
        let path = temp("huge-spec");
        save(&model, &huge, &path).unwrap();
        let err = load(&path, &device).unwrap_err();
        std::fs::remove_file(&path).ok();
        assert!(matches!(err, ModelError::Mismatch { .. }), "{err}");
        assert!(err.to_string().contains("parameters"), "{err}");
    }

    #[test]
    fn a_spec_whose_preprocessing_does_not_fit_is_rejected() {
        let spec = ModelSpec::new(
            Architecture::BaselineCnn.default_config(),
            HeadSpec::Smile,
            Preprocessing::rgb_imagenet(48, 48),
        );
        assert!(matches!(
            spec.init(&mien_core::device::cpu()),
            Err(ModelError::InvalidSpec(_))
        ));
    }
}
