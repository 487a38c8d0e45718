//! One experiment, one file: everything a training run needs, as serde JSON saved next to
//! its outputs so that a run can be repeated or resumed from its folder alone.

use std::path::{Path, PathBuf};

use mien_data::{AugmentConfig, LabelMode, Split};
use mien_models::registry::{Architecture, BackboneConfig};
use mien_models::weights::{HeadSpec, ModelSpec};
use serde::{Deserialize, Serialize};

use crate::TrainError;
use crate::loss::LossConfig;
use crate::optim::OptimizerConfig;
use crate::schedule::ScheduleConfig;

/// A complete training experiment.
///
/// ```
/// use mien_train::ExperimentConfig;
/// let config: ExperimentConfig = serde_json::from_str(r#"{
///     "name": "baseline",
///     "model": { "backbone": { "architecture": "baseline_cnn" } },
///     "epochs": 30
/// }"#).unwrap();
/// assert_eq!(config.batch_size, 64);
/// config.validate().unwrap();
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// A name for logs and reports.
    pub name: String,
    /// The network.
    pub model: ModelConfig,
    /// Where the faces come from and what they are labelled with.
    #[serde(default)]
    pub data: DataConfig,
    /// Augmentation of training faces.
    #[serde(default)]
    pub augment: AugmentConfig,
    /// The training objective.
    #[serde(default)]
    pub loss: LossConfig,
    /// The optimiser.
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// The learning-rate schedule.
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Number of epochs.
    pub epochs: usize,
    /// Faces per epoch [default: every training face once], trained in whole batches (the
    /// remainder under a batch is dropped). Fewer makes epochs of random subsets, more
    /// chains several shuffled passes, each with its own augmentation: how equal-compute
    /// comparisons give each architecture the faces it trains in a fixed time, with a
    /// learning curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_faces: Option<usize>,
    /// Faces per optimiser step.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seeds weights, shuffling, augmentation and dropout: the same seed gives the same run.
    #[serde(default)]
    pub seed: u64,
    /// How training faces are drawn each epoch.
    #[serde(default)]
    pub sampling: Sampling,
    /// The validation metric that picks the best checkpoint, drives early stopping and the
    /// plateau schedule.
    #[serde(default)]
    pub monitor: Monitor,
    /// Stop when the monitored metric has not improved for a while.
    #[serde(default)]
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// Test-time augmentation during validation.
    #[serde(default)]
    pub validation_tta: TtaConfig,
}

fn default_batch_size() -> usize {
    64
}

impl ExperimentConfig {
    /// A config with defaults for everything but the architecture, label mode and epochs.
    pub fn new(name: impl Into<String>, architecture: Architecture, epochs: usize) -> Self {
        Self {
            name: name.into(),
            model: ModelConfig {
                backbone: architecture.default_config(),
                head_dropout: 0.0,
                multi_task: false,
            },
            data: DataConfig::default(),
            augment: AugmentConfig::default(),
            loss: LossConfig::default(),
            optimizer: OptimizerConfig::default(),
            schedule: ScheduleConfig::default(),
            epochs,
            epoch_faces: None,
            batch_size: default_batch_size(),
            seed: 0,
            sampling: Sampling::default(),
            monitor: Monitor::default(),
            early_stopping: None,
            validation_tta: TtaConfig::default(),
        }
    }

    /// Reads a config from a JSON file.
    ///
    /// # Errors
    /// [`TrainError::Io`] when the file cannot be read, [`TrainError::Config`] naming the
    /// line and column of a JSON or field error, or the first invalid setting.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, TrainError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let config: Self = serde_json::from_str(&text).map_err(|e| TrainError::Config {
            location: format!("{}:{}:{}", path.display(), e.line(), e.column()),
            problem: e.to_string(),
        })?;
        config.validate().map_err(|e| match e {
            TrainError::Config { location, problem } => TrainError::Config {
                location: format!("{}, field {location}", path.display()),
                problem,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Writes the config as pretty JSON.
    ///
    /// # Errors
    /// [`TrainError::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TrainError> {
        let path = path.as_ref();
        let json = serde_json::to_string_pretty(self).expect("configs always serialise");
        std::fs::write(path, json).map_err(|e| TrainError::io(path, e))
    }

    /// The model this experiment trains: its backbone, [`ExperimentConfig::head`] and the
    /// backbone's default preprocessing.
    pub fn model_spec(&self) -> ModelSpec {
        let backbone = self.model.backbone.clone();
        let preprocessing = backbone.input().default_preprocessing();
        ModelSpec::new(backbone, self.head(), preprocessing)
    }

    /// The head the label mode calls for: emotion classes, or smile intensity; both for a
    /// multi-task model.
    pub fn head(&self) -> HeadSpec {
        match self.data.labels.label_set() {
            Some(label_set) if self.model.multi_task => HeadSpec::MultiTask { label_set },
            Some(label_set) => HeadSpec::Emotion { label_set },
            None => HeadSpec::Smile,
        }
    }

    /// Checks every setting, so that a run fails before it starts rather than hours in.
    ///
    /// # Errors
    /// [`TrainError::Config`] naming the field and what is wrong with it.
    pub fn validate(&self) -> Result<(), TrainError> {
        let fail = |field: &str, problem: String| {
            Err(TrainError::Config {
                location: field.to_owned(),
                problem,
            })
        };
        if self.epochs == 0 {
            return fail("epochs", "must be at least 1".into());
        }
        if self.epoch_faces == Some(0) {
            return fail(
                "epoch_faces",
                "must be at least 1 (or absent for whole passes)".into(),
            );
        }
        if self.batch_size < 2 {
            return fail(
                "batch_size",
                format!(
                    "{} is too small: batch norm needs at least 2",
                    self.batch_size
                ),
            );
        }
        if !(0.0..1.0).contains(&self.model.head_dropout) {
            return fail(
                "model.head_dropout",
                format!("{} is not in [0, 1)", self.model.head_dropout),
            );
        }
        if self.data.train_split == self.data.valid_split {
            return fail(
                "data.valid_split",
                format!(
                    "validating on the training split ({}) measures nothing",
                    self.data.train_split
                ),
            );
        }
        if let Err(e) = self.augment.validate() {
            return fail("augment", e.to_string());
        }
        if self.augment.mix.is_some() && self.data.labels == LabelMode::SmileIntensity {
            return fail(
                "augment.mix",
                "mixup / cutmix need class targets, not smile intensity".into(),
            );
        }
        if self.model.multi_task {
            if self.data.labels.label_set().is_none() {
                return fail(
                    "model.multi_task",
                    "a multi-task model needs an emotion label mode (its smile head always \
                     learns the happiness vote fraction)"
                        .into(),
                );
            }
            if self.augment.mix.is_some() {
                return fail(
                    "augment.mix",
                    "mixup / cutmix would need mixed smile targets too: not supported for \
                     multi-task models"
                        .into(),
                );
            }
        }
        let is_smile = self.head() == HeadSpec::Smile;
        if let Err(problem) = self.loss.check(is_smile) {
            return fail("loss", problem);
        }
        if let Err(problem) = self.optimizer.check() {
            return fail("optimizer", problem);
        }
        if let Err(problem) = self.schedule.check(self.optimizer.learning_rate()) {
            return fail("schedule", problem);
        }
        let has_smile = is_smile || self.model.multi_task;
        let fits = self.monitor.is_generic()
            || (self.monitor.is_smile() && has_smile)
            || (!self.monitor.is_smile() && !is_smile);
        if !fits {
            return fail(
                "monitor",
                format!(
                    "{:?} does not apply to a {} model",
                    self.monitor,
                    if is_smile { "smile" } else { "emotion" }
                ),
            );
        }
        if matches!(self.sampling, Sampling::ClassBalanced) && is_smile {
            return fail(
                "sampling",
                "class-balanced sampling needs classes, not smile intensity".into(),
            );
        }
        if let Some(stop) = &self.early_stopping
            && stop.patience == 0
        {
            return fail("early_stopping.patience", "must be at least 1".into());
        }
        Ok(())
    }
}

/// The network: any backbone, with the head its label mode needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Architecture and its settings, e.g. `{"architecture": "mini_xception"}`; settings
    /// left out take the architecture's defaults.
    #[serde(deserialize_with = "backbone_with_defaults")]
    pub backbone: BackboneConfig,
    /// Dropout between the backbone's features and the head.
    #[serde(default)]
    pub head_dropout: f64,
    /// Add a smile-intensity head beside the emotion head, trained on the FER+ happiness
    /// vote fraction of each face with loss `emotion_weight · CE + smile_weight · smile`.
    #[serde(default)]
    pub multi_task: bool,
}

/// Reads `{"architecture": name, …some settings…}`, filling the settings left out with
/// the architecture's defaults.
fn backbone_with_defaults<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BackboneConfig, D::Error> {
    use serde::de::Error;
    let given = serde_json::Value::deserialize(deserializer)?;
    let name = given
        .get("architecture")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| D::Error::custom("backbone needs an \"architecture\" name"))?;
    let architecture: Architecture = name.parse().map_err(D::Error::custom)?;
    let mut merged =
        serde_json::to_value(architecture.default_config()).map_err(D::Error::custom)?;
    let (Some(target), Some(fields)) = (merged.as_object_mut(), given.as_object()) else {
        return Err(D::Error::custom("backbone must be a JSON object"));
    };
    for (key, value) in fields {
        if !target.contains_key(key) {
            return Err(D::Error::custom(format!(
                "{name} has no setting `{key}`; it has: {}",
                target.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        target.insert(key.clone(), value.clone());
    }
    serde_json::from_value(merged).map_err(D::Error::custom)
}

/// Where the faces come from and how they are labelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A dataset in any layout `mien_data::load` reads; default `$MIEN_DATA/fer2013`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The split trained on.
    #[serde(default = "default_train_split")]
    pub train_split: Split,
    /// The split validated on (model selection, early stopping, plateau schedule).
    #[serde(default = "default_valid_split")]
    pub valid_split: Split,
    /// The training target.
    #[serde(default)]
    pub labels: LabelMode,
    /// Drop validation faces whose pixels also occur in the training split.
    #[serde(default = "default_true")]
    pub remove_duplicates: bool,
    /// Use only the first N faces of each split (quick experiments and tests).
    #[serde(default)]
    pub limit: Option<usize>,
}

fn default_train_split() -> Split {
    Split::Training
}

fn default_valid_split() -> Split {
    Split::PublicTest
}

fn default_true() -> bool {
    true
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            path: None,
            train_split: default_train_split(),
            valid_split: default_valid_split(),
            labels: LabelMode::default(),
            remove_duplicates: true,
            limit: None,
        }
    }
}

/// How each epoch draws its training faces.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sampling {
    /// Every face once, in a new random order each epoch.
    #[default]
    Shuffle,
    /// As many faces as the split has, drawn with replacement so that every class is
    /// equally likely.
    ClassBalanced,
}

/// The validation metric a run optimises for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Accuracy (higher is better).
    #[default]
    Accuracy,
    /// Macro-averaged F1 over the classes (higher is better).
    MacroF1,
    /// Validation loss (lower is better).
    Loss,
    /// Smile intensity mean absolute error (lower is better).
    SmileMae,
    /// Smile intensity Pearson correlation (higher is better).
    SmilePearson,
}

impl Monitor {
    /// Whether larger values are better.
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Monitor::Accuracy | Monitor::MacroF1 | Monitor::SmilePearson
        )
    }

    /// Whether the metric is one of a smile model.
    pub fn is_smile(self) -> bool {
        matches!(self, Monitor::SmileMae | Monitor::SmilePearson)
    }

    /// Whether the metric applies to both kinds of model.
    pub fn is_generic(self) -> bool {
        self == Monitor::Loss
    }
}

/// Stops training when the monitored metric stops improving.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingConfig {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    #[serde(default)]
    pub min_delta: f64,
}

/// Test-time augmentation: predictions averaged over transformed copies of each face.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtaConfig {
    /// Also predict on the mirrored face.
    #[serde(default)]
    pub flip: bool,
    /// Also predict on the four corner crops and the centre crop that leave out this many
    /// pixels per side, each resized back to the input size.
    #[serde(default)]
    pub crop_margin: Option<u32>,
}

impl TtaConfig {
    /// Flip only: the usual cheap TTA.
    pub const FLIP: TtaConfig = TtaConfig {
        flip: true,
        crop_margin: None,
    };

    /// Whether any augmentation is switched on.
    pub fn is_enabled(&self) -> bool {
        self.flip || self.crop_margin.is_some()
    }
}
