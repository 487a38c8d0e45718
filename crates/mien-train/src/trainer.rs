//! The training loop: any backbone, any label mode, any backend; a checkpoint every
//! epoch; resumable to the same result as an uninterrupted run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use mien_data::sampling::{ClassWeighting, WeightedSampler, class_weights};
use mien_data::{FaceBatch, FaceBatcher, FaceDataset, LabelMode, LabelledDataset, LoadOptions};
use mien_models::weights::{self, Model, ModelSpec};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, TrainState};
use crate::config::{ExperimentConfig, Monitor, Sampling};
use crate::evaluate::{Predictions, Report, predict};
use crate::loss::{multi_task_loss, soft_cross_entropy};
use crate::progress::Progress;
use crate::schedule::ReduceOnPlateau;
use crate::{TrainError, plots};

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Training accuracy against the faces' classes before batch mixing; `None` for smile.
    pub train_accuracy: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// The monitored validation metric.
    pub monitored: f64,
    /// The validation report.
    pub valid: Report,
    /// Wall-clock seconds of the training steps (validation excluded).
    pub train_seconds: f64,
    /// Of `train_seconds`, the time spent building batches (augmentation, preprocessing).
    pub data_seconds: f64,
    /// Seconds of validation.
    pub valid_seconds: f64,
    /// Faces trained on.
    pub faces: usize,
}

/// How a run is carried out (as opposed to what it trains: [`ExperimentConfig`]).
#[derive(Debug)]
pub struct TrainOptions {
    /// Continue the run in the output folder from its last checkpoint.
    pub resume: bool,
    /// Where progress goes.
    pub progress: Progress,
    /// The device to train on (without autodiff; the trainer adds it).
    pub device: Device,
    /// Stop after this many completed epochs, as if interrupted (tests of resuming).
    #[doc(hidden)]
    pub stop_after: Option<usize>,
}

impl TrainOptions {
    /// A fresh run on `device`, with automatic progress output.
    pub fn new(device: Device) -> Self {
        Self {
            resume: false,
            progress: Progress::auto(),
            device,
            stop_after: None,
        }
    }
}

/// The result of a finished (or early-stopped) run.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The best checkpoint's weights (`best.safetensors`).
    pub best_weights: PathBuf,
    /// The last epoch's weights (`model.safetensors`).
    pub final_weights: PathBuf,
    /// The best epoch and its monitored value.
    pub best: Option<(usize, f64)>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The best model's validation report (also in `report.json`).
    pub report: Report,
    /// Every epoch.
    pub history: Vec<EpochRecord>,
}

/// The files of a run folder.
pub mod files {
    /// The experiment config.
    pub const CONFIG: &str = "config.json";
    /// The best epoch's weights.
    pub const BEST: &str = "best.safetensors";
    /// The last epoch's weights.
    pub const FINAL: &str = "model.safetensors";
    /// Per-epoch metrics.
    pub const HISTORY: &str = "history.json";
    /// The best model's validation report.
    pub const REPORT: &str = "report.json";
    /// Loss, metric and learning-rate curves.
    pub const CURVES: &str = "curves.png";
    /// The best model's validation confusion matrix.
    pub const CONFUSION: &str = "confusion.png";
}

/// Loads the config's dataset (all splits) and trains: see [`train_on`].
///
/// # Errors
/// Any [`TrainError`]: an invalid config, unreadable data, a damaged checkpoint, I/O.
pub fn train(
    config: &ExperimentConfig,
    run_dir: &Path,
    options: TrainOptions,
) -> Result<TrainOutcome, TrainError> {
    config.validate()?;
    let path = match &config.data.path {
        Some(path) => path.clone(),
        None => mien_core::data_dir()?.join("fer2013"),
    };
    let loaded = mien_data::load(&path, &LoadOptions::default())?;
    train_on(config, loaded.dataset, run_dir, options)
}

/// Trains on `faces` (holding at least the config's train and validation splits) and
/// writes the run folder: `config.json`, a checkpoint after every epoch, `history.json`,
/// `curves.png`, `best.safetensors`, `model.safetensors`, `report.json`, `confusion.png`.
///
/// # Errors
/// Any [`TrainError`].
pub fn train_on(
    config: &ExperimentConfig,
    mut faces: FaceDataset,
    run_dir: &Path,
    mut options: TrainOptions,
) -> Result<TrainOutcome, TrainError> {
    config.validate()?;
    std::fs::create_dir_all(run_dir).map_err(|e| TrainError::io(run_dir, e))?;
    if checkpoint::exists(run_dir) && !options.resume {
        return Err(TrainError::RunExists(run_dir.to_path_buf()));
    }
    config.save(run_dir.join(files::CONFIG))?;

    let data = &config.data;
    if data.remove_duplicates {
        faces.remove_cross_split_duplicates(data.train_split);
    }
    let take = |split| {
        let mut part = faces.split(split);
        if let Some(limit) = data.limit {
            let mut seen = 0;
            part = part.filter(|_, _| {
                seen += 1;
                seen <= limit
            });
        }
        part
    };
    let (train_faces, valid_faces) = (take(data.train_split), take(data.valid_split));
    let train_set = LabelledDataset::new(train_faces, data.labels)?;
    if train_set.is_empty() {
        return Err(TrainError::NoFaces(format!(
            "the {} split has no faces labelled for {:?}",
            data.train_split, data.labels
        )));
    }
    if valid_faces.is_empty() {
        return Err(TrainError::NoFaces(format!(
            "the {} split has none",
            data.valid_split
        )));
    }

    let spec = config.model_spec();
    let device = options.device.clone();
    let ad_device = device.clone().autodiff();
    let model = {
        // burn's random generator belongs to the device and is shared by every thread using
        // it: hold the lock from seeding to the last initial weight, so that runs started
        // together in one process still get the weights their seed says.
        let _guard = DEVICE_RNG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ad_device.seed(config.seed);
        spec.init_with_head_dropout(config.model.head_dropout, &ad_device)?
    };

    let epoch_faces = config.epoch_faces.unwrap_or(train_set.len());
    let batch_size = config.batch_size.min(epoch_faces);
    let drop_last = epoch_faces > batch_size;
    let steps_per_epoch = if drop_last {
        epoch_faces / batch_size
    } else {
        1
    };
    let lr = config.optimizer.learning_rate();
    let optimizer = config.optimizer.init();
    let scheduler = config
        .schedule
        .init(lr, config.epochs, steps_per_epoch)
        .map_err(|problem| TrainError::Config {
            location: "schedule".into(),
            problem,
        })?;
    let plateau = config
        .schedule
        .plateau
        .map(|p| ReduceOnPlateau::new(p, config.monitor.higher_is_better()));

    let (model, optimizer, scheduler, state) = if options.resume && checkpoint::exists(run_dir) {
        checkpoint::load(run_dir, model, optimizer, scheduler)?
    } else {
        (
            model,
            optimizer,
            scheduler,
            TrainState::new(config.seed, plateau),
        )
    };

    let batcher = FaceBatcher::new(spec.preprocessing.clone(), data.labels)?
        .with_augmentation(config.augment.clone(), config.seed)?;
    let loss_weights = match config.loss.emotion.class_weights {
        Some(weighting) if data.labels.label_set().is_some() => Some(Tensor::<1>::from_floats(
            class_weights(&train_set.class_counts(), weighting)?.as_slice(),
            &ad_device,
        )),
        _ => None,
    };
    let sampler = match config.sampling {
        Sampling::Shuffle => None,
        Sampling::ClassBalanced => Some(WeightedSampler::balanced(
            &train_set,
            ClassWeighting::InverseFrequency,
            config.seed,
        )?),
    };

    let mut run = Run {
        config,
        spec,
        run_dir,
        device,
        ad_device,
        train_set,
        valid_faces,
        batcher,
        loss_weights,
        sampler,
        batch_size,
        steps_per_epoch,
    };
    run.epochs(model, optimizer, scheduler, state, &mut options)
}

/// Serialises seeding the device and drawing initial weights (see `train_on`).
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The fixed parts of a run.
struct Run<'a> {
    config: &'a ExperimentConfig,
    spec: ModelSpec,
    run_dir: &'a Path,
    device: Device,
    ad_device: Device,
    train_set: LabelledDataset,
    valid_faces: FaceDataset,
    batcher: FaceBatcher,
    loss_weights: Option<Tensor<1>>,
    sampler: Option<WeightedSampler>,
    batch_size: usize,
    steps_per_epoch: usize,
}

/// A seed for epoch `epoch`'s draws, distinct from the config seed itself.
fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    (seed ^ 0x5851_F42D_4C95_7F2D)
        .wrapping_add(epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .rotate_left(17)
}

/// The random-stream key of pass `k` of epoch `epoch`: pass 0 keeps the seeds runs without
/// `epoch_faces` have always used.
fn pass_key(epoch: u64, k: u64) -> u64 {
    epoch ^ (k << 32)
}

impl Run<'_> {
    fn epochs(
        &mut self,
        mut model: Model,
        mut optimizer: ModuleOptimizer,
        mut scheduler: ModuleLrScheduler,
        mut state: TrainState,
        options: &mut TrainOptions,
    ) -> Result<TrainOutcome, TrainError> {
        let config = self.config;
        while state.completed_epochs < config.epochs && !state.stopped_early {
            if options
                .stop_after
                .is_some_and(|n| state.completed_epochs >= n)
            {
                break;
            }
            let epoch = state.completed_epochs + 1;
            let (trained, record) = self.epoch(
                epoch,
                model,
                &mut optimizer,
                &mut scheduler,
                &mut state,
                &mut options.progress,
            )?;
            model = trained;
            let value = record.monitored;
            if let Some(plateau) = state.plateau.as_mut() {
                plateau.observe(value);
            }
            let min_delta = config.early_stopping.map_or(0.0, |s| s.min_delta);
            let improved = match state.best {
                None => value.is_finite(),
                Some((_, best)) if config.monitor.higher_is_better() => value > best + min_delta,
                Some((_, best)) => value < best - min_delta,
            };
            if improved {
                state.best = Some((epoch, value));
                state.epochs_without_improvement = 0;
                weights::save(&model.valid(), &self.spec, self.run_dir.join(files::BEST))?;
            } else {
                state.epochs_without_improvement += 1;
            }
            if let Some(stop) = config.early_stopping
                && state.epochs_without_improvement >= stop.patience
            {
                state.stopped_early = true;
            }
            options
                .progress
                .finish_epoch(&epoch_summary(&record, config));
            state.history.push(record);
            state.completed_epochs = epoch;
            state.rng.next_epoch = epoch as u64;
            self.write_history(&state)?;
            checkpoint::save(self.run_dir, &model, &optimizer, &scheduler, &state)?;
        }
        let finished = state.completed_epochs >= config.epochs || state.stopped_early;
        let final_weights = self.run_dir.join(files::FINAL);
        let best_weights = self.run_dir.join(files::BEST);
        let report = if finished {
            weights::save(&model.valid(), &self.spec, &final_weights)?;
            self.final_report(&best_weights)?
        } else {
            state
                .history
                .last()
                .map(|r| r.valid.clone())
                .ok_or_else(|| {
                    TrainError::NoFaces("the run stopped before its first epoch".into())
                })?
        };
        Ok(TrainOutcome {
            run_dir: self.run_dir.to_path_buf(),
            best_weights,
            final_weights,
            best: state.best,
            stopped_early: state.stopped_early,
            report,
            history: state.history,
        })
    }

    /// The face indices of an epoch, in training order: one shuffled pass, or
    /// `epoch_faces` taken from consecutive passes.
    fn order(&self, epoch: u64) -> Vec<usize> {
        let Some(faces) = self.config.epoch_faces else {
            return self.pass(epoch, 0);
        };
        let mut order = Vec::with_capacity(faces);
        let mut k = 0;
        while order.len() < faces {
            let pass = self.pass(epoch, k);
            if pass.is_empty() {
                break;
            }
            order.extend(pass);
            k += 1;
        }
        order.truncate(faces);
        order
    }

    /// Pass `k` of an epoch's faces: the training set in a random order of its own.
    fn pass(&self, epoch: u64, k: u64) -> Vec<usize> {
        let key = pass_key(epoch, k);
        match &self.sampler {
            Some(sampler) => sampler.epoch(key),
            None => {
                let mut order: Vec<usize> = (0..self.train_set.len()).collect();
                let mut rng = ChaCha8Rng::seed_from_u64(epoch_seed(self.config.seed, key));
                order.shuffle(&mut rng);
                order
            }
        }
    }

    fn epoch(
        &mut self,
        epoch: usize,
        mut model: Model,
        optimizer: &mut ModuleOptimizer,
        scheduler: &mut ModuleLrScheduler,
        state: &mut TrainState,
        progress: &mut Progress,
    ) -> Result<(Model, EpochRecord), TrainError> {
        let config = self.config;
        let epoch_index = (epoch - 1) as u64;
        // Every random draw of the epoch derives from (seed, epoch): resuming at an epoch
        // boundary continues exactly as an uninterrupted run would.
        self.ad_device
            .seed(epoch_seed(config.seed, epoch_index) ^ 1);
        self.batcher.set_epoch(epoch_index);
        let order = self.order(epoch_index);
        let steps = self.steps_per_epoch;
        progress.start_epoch(epoch, config.epochs, steps);

        let started = Instant::now();
        let (mut data_seconds, mut loss_sum, mut correct, mut counted, mut faces) =
            (0.0, 0.0f64, 0.0f64, 0usize, 0usize);
        let mut lr = 0.0;
        for (step, chunk) in order.chunks(self.batch_size).take(steps).enumerate() {
            let data_started = Instant::now();
            if config.epoch_faces.is_some() {
                // A face met again in a later pass of the epoch gets new augmentation; the
                // one batch that straddles two passes keeps the earlier pass's stream.
                let pass = (step * self.batch_size / self.train_set.len().max(1)) as u64;
                self.batcher.set_epoch(pass_key(epoch_index, pass));
            }
            let items = chunk
                .iter()
                .map(|&i| {
                    self.train_set
                        .item(i)
                        .ok_or_else(|| TrainError::NoFaces(format!("face {i} is out of range")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let batch = self.batcher.try_batch(items, &self.ad_device)?;
            data_seconds += data_started.elapsed().as_secs_f64();

            let smile = matches!(model, Model::MultiTask(_)).then(|| self.smile_targets(chunk));
            let (loss, batch_correct) = self.loss(&model, batch, smile);
            let loss_value = loss.clone().into_scalar::<f32>();
            if !loss_value.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step: step + 1,
                    loss: loss_value,
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            lr = scheduler.step().base() * state.plateau.as_ref().map_or(1.0, |p| p.scale());
            model = optimizer.step(lr, model, grads);

            loss_sum += f64::from(loss_value);
            faces += chunk.len();
            if let Some(c) = batch_correct {
                correct += c;
                counted += chunk.len();
            }
            let accuracy = (counted > 0).then(|| correct / counted as f64);
            progress.step(
                step + 1,
                steps,
                loss_sum / (step + 1) as f64,
                accuracy,
                faces,
            );
        }
        let train_seconds = started.elapsed().as_secs_f64();

        let valid_started = Instant::now();
        let valid = self.validate(&model.valid(), config.validation_tta)?;
        let monitored = monitored_value(&valid, config.monitor);
        Ok((
            model,
            EpochRecord {
                epoch,
                train_loss: loss_sum / steps as f64,
                train_accuracy: (counted > 0).then(|| correct / counted as f64),
                learning_rate: lr,
                monitored,
                valid,
                train_seconds,
                data_seconds,
                valid_seconds: valid_started.elapsed().as_secs_f64(),
                faces,
            },
        ))
    }

    /// The batch loss and, for classifiers, the number of faces classified correctly.
    /// `smile` holds the smile targets and their mask for multi-task models.
    fn loss(
        &self,
        model: &Model,
        batch: FaceBatch,
        smile: Option<(Tensor<1>, Tensor<1>)>,
    ) -> (Tensor<1>, Option<f64>) {
        let FaceBatch {
            images,
            targets,
            classes,
        } = batch;
        let loss_config = &self.config.loss;
        match model {
            Model::Emotion(classifier) => {
                let logits = classifier.forward(images);
                let correct = classes.map(|classes| accuracy_count(&logits, classes));
                let loss = soft_cross_entropy(
                    logits,
                    targets,
                    loss_config.emotion.label_smoothing,
                    self.loss_weights.as_ref(),
                );
                (loss, correct)
            }
            Model::Smile(regressor) => {
                let predicted = sigmoid(regressor.forward(images));
                let target = targets.flatten::<1>(0, 1);
                (loss_config.smile.forward(predicted, target), None)
            }
            Model::MultiTask(m) => {
                let output = m.forward(images);
                let correct =
                    classes.map(|classes| accuracy_count(&output.emotion_logits, classes));
                let emotion = soft_cross_entropy(
                    output.emotion_logits,
                    targets,
                    loss_config.emotion.label_smoothing,
                    self.loss_weights.as_ref(),
                );
                let (smile_target, mask) = smile.expect("multi-task batches carry smile targets");
                let smile =
                    loss_config
                        .smile
                        .masked(sigmoid(output.smile_logits), smile_target, mask);
                (multi_task_loss(loss_config, emotion, smile), correct)
            }
        }
    }

    /// Smile targets `[N]` of the faces `chunk` (0 where unknown) and their mask `[N]`.
    fn smile_targets(&self, chunk: &[usize]) -> (Tensor<1>, Tensor<1>) {
        let (targets, mask): (Vec<f32>, Vec<f32>) = chunk
            .iter()
            .map(|&i| {
                self.train_set
                    .record(i)
                    .and_then(|r| r.votes?.smile_intensity())
                    .map_or((0.0, 0.0), |t| (t, 1.0))
            })
            .unzip();
        (
            Tensor::from_floats(targets.as_slice(), &self.ad_device),
            Tensor::from_floats(mask.as_slice(), &self.ad_device),
        )
    }

    /// The validation report of `model` (in validation mode), with the loss.
    fn validate(&self, model: &Model, tta: crate::config::TtaConfig) -> Result<Report, TrainError> {
        let predictions = predict(
            model,
            &self.spec,
            &self.valid_faces,
            tta,
            self.batch_size.max(64),
            &self.device,
        )?;
        let mut report = Report::new(&predictions, &self.valid_faces, tta);
        report.loss = validation_loss(&predictions, &self.valid_faces, self.config.data.labels);
        Ok(report)
    }

    fn write_history(&self, state: &TrainState) -> Result<(), TrainError> {
        let path = self.run_dir.join(files::HISTORY);
        let json = serde_json::to_string_pretty(&state.history).expect("history serialises");
        std::fs::write(&path, json).map_err(|e| TrainError::io(&path, e))?;
        plots::training_curves(
            &state.history,
            &monitor_label(self.config.monitor),
            &self.run_dir.join(files::CURVES),
        )
    }

    /// Reloads the best weights, reports on the validation split and plots its confusion.
    fn final_report(&self, best_weights: &Path) -> Result<Report, TrainError> {
        let saved = weights::load(best_weights, &self.device)?;
        let report = self.validate(&saved.model, self.config.validation_tta)?;
        let path = self.run_dir.join(files::REPORT);
        let json = serde_json::to_string_pretty(&report).expect("report serialises");
        std::fs::write(&path, json).map_err(|e| TrainError::io(&path, e))?;
        if let (Some(rows), Some(set)) = (&report.confusion, report.label_set) {
            let names: Vec<&str> = set.emotions().iter().map(|e| e.name()).collect();
            plots::confusion_matrix(
                rows,
                &names,
                &format!("{} on {}", self.config.name, self.config.data.valid_split),
                &self.run_dir.join(files::CONFUSION),
            )?;
        }
        Ok(report)
    }
}

/// How many rows of `logits` have their largest value at `classes`.
fn accuracy_count(logits: &Tensor<2>, classes: Tensor<1, Int>) -> f64 {
    let predicted = logits.clone().detach().argmax(1).flatten::<1>(0, 1);
    f64::from(predicted.equal(classes).float().sum().into_scalar::<f32>())
}

/// The monitored metric's value in a report (NaN when the report lacks it).
pub fn monitored_value(report: &Report, monitor: Monitor) -> f64 {
    match monitor {
        Monitor::Accuracy => report.accuracy,
        Monitor::MacroF1 => report.macro_f1,
        Monitor::Loss => report.loss,
        Monitor::SmileMae => report.smile_mae,
        Monitor::SmilePearson => report.smile_pearson,
    }
    .unwrap_or(f64::NAN)
}

fn monitor_label(monitor: Monitor) -> String {
    format!(
        "validation {}",
        serde_json::to_value(monitor)
            .expect("serialises")
            .as_str()
            .unwrap_or("metric")
    )
}

fn epoch_summary(record: &EpochRecord, config: &ExperimentConfig) -> String {
    let accuracy = record
        .train_accuracy
        .map_or(String::new(), |a| format!(" train acc {a:.4}"));
    format!(
        "epoch {}/{}: train loss {:.4}{accuracy}, valid loss {:.4}, {} {:.4}, lr {:.2e}, {:.1} s ({:.0} faces/s, data {:.0} %)",
        record.epoch,
        config.epochs,
        record.train_loss,
        record.valid.loss.unwrap_or(f64::NAN),
        monitor_label(config.monitor),
        record.monitored,
        record.learning_rate,
        record.train_seconds,
        record.faces as f64 / record.train_seconds.max(1e-9),
        100.0 * record.data_seconds / record.train_seconds.max(1e-9),
    )
}

/// Mean validation loss in the training label mode: cross-entropy `−Σ t·ln p` against the
/// target distribution (unweighted, unsmoothed), or squared error for smile intensity.
pub fn validation_loss(
    predictions: &Predictions,
    faces: &FaceDataset,
    mode: LabelMode,
) -> Option<f64> {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (i, record) in faces.records().iter().enumerate() {
        let Some(target) = mode.target(record) else {
            continue;
        };
        match (
            mode.label_set(),
            predictions.probabilities(i),
            &predictions.smile,
        ) {
            (Some(set), Some(p), _) => {
                let t = target.probabilities(set.num_classes());
                sum -= t
                    .iter()
                    .zip(p)
                    .filter(|(t, _)| **t > 0.0)
                    .map(|(t, p)| f64::from(*t) * f64::from(p.max(1e-12)).ln())
                    .sum::<f64>();
            }
            (None, _, Some(smile)) => {
                let t = target.probabilities(1)[0];
                sum += f64::from(smile[i] - t).powi(2);
            }
            _ => continue,
        }
        n += 1;
    }
    (n > 0).then(|| sum / n as f64)
}
