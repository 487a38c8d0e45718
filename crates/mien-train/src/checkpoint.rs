//! Per-epoch checkpoints that survive `kill -9`.
//!
//! A checkpoint is a folder `checkpoint/` in the run folder with the model (`model.bpk`),
//! the optimiser state (`optimizer.bpk`), the scheduler (`scheduler.bpk`), all burnpack
//! files, and `state.json` ([`TrainState`]: completed epochs, seed, plateau, early stopping,
//! best metric, history). It is written to `checkpoint.tmp/` first and then swapped in by
//! renames, so at any instant either the previous or the new checkpoint is complete. The
//! previous epoch's stays beside it as `checkpoint.old/`, so that a checkpoint damaged after
//! it was written (a full disk, a bad copy) costs one epoch, not the run.
//!
//! Model parameters keep their ids in the burnpack file, which is what the optimiser state
//! is keyed by; that is why checkpoints use burn's native format rather than safetensors.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::optim::lr_scheduler::LrSchedulerRecord;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use mien_models::weights::Model;
use serde::{Deserialize, Serialize};

use crate::TrainError;
use crate::schedule::ReduceOnPlateau;
use crate::trainer::EpochRecord;

const CURRENT: &str = "checkpoint";
const TEMPORARY: &str = "checkpoint.tmp";
const PREVIOUS: &str = "checkpoint.old";
const STATE_FORMAT: u32 = 1;

/// Everything about a run's progress that is not a tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Version of this layout.
    pub format: u32,
    /// Epochs finished; training resumes with the next one.
    pub completed_epochs: usize,
    /// The random state: every random draw (weights, order, augmentation, dropout) is a
    /// function of the seed and the epoch, so these two numbers restore it exactly.
    pub rng: RngState,
    /// The plateau schedule's state.
    pub plateau: Option<ReduceOnPlateau>,
    /// The best validation value so far and its epoch.
    pub best: Option<(usize, f64)>,
    /// Epochs since the best one (early stopping).
    pub epochs_without_improvement: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// One record per completed epoch.
    pub history: Vec<EpochRecord>,
}

/// The random state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The experiment seed.
    pub seed: u64,
    /// The next epoch, which seeds that epoch's order, augmentation and dropout.
    pub next_epoch: u64,
}

impl TrainState {
    /// The state of a run that has not started.
    pub fn new(seed: u64, plateau: Option<ReduceOnPlateau>) -> Self {
        Self {
            format: STATE_FORMAT,
            completed_epochs: 0,
            rng: RngState {
                seed,
                next_epoch: 0,
            },
            plateau,
            best: None,
            epochs_without_improvement: 0,
            stopped_early: false,
            history: Vec::new(),
        }
    }
}

/// Whether `run_dir` holds a checkpoint (complete, or the previous one mid-swap).
pub fn exists(run_dir: &Path) -> bool {
    run_dir.join(CURRENT).join("state.json").is_file()
        || run_dir.join(PREVIOUS).join("state.json").is_file()
}

/// Writes a checkpoint of the end of an epoch.
///
/// # Errors
/// [`TrainError::Io`] or [`TrainError::Checkpoint`] when a file cannot be written.
pub fn save(
    run_dir: &Path,
    model: &Model,
    optimizer: &ModuleOptimizer,
    scheduler: &ModuleLrScheduler,
    state: &TrainState,
) -> Result<(), TrainError> {
    let tmp = run_dir.join(TEMPORARY);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    let failed = |path: PathBuf, e: burn::store::RecordError| TrainError::Checkpoint {
        path,
        problem: format!("cannot write: {e}"),
    };
    let path = tmp.join("model.bpk");
    model
        .clone()
        .save_file(&path)
        .map_err(|e| failed(path, e))?;
    let path = tmp.join("optimizer.bpk");
    optimizer.save(&path).map_err(|e| failed(path, e))?;
    let path = tmp.join("scheduler.bpk");
    scheduler
        .to_record()
        .save(&path)
        .map_err(|e| failed(path, e))?;
    let path = tmp.join("state.json");
    let json = serde_json::to_string_pretty(state).expect("state serialises");
    fs::write(&path, json).map_err(|e| TrainError::io(&path, e))?;

    // Swap: drop the previous, current → previous, tmp → current. A kill between any two
    // steps leaves `current` or `previous` complete.
    let (current, previous) = (run_dir.join(CURRENT), run_dir.join(PREVIOUS));
    if previous.exists() {
        fs::remove_dir_all(&previous).map_err(|e| TrainError::io(&previous, e))?;
    }
    if current.exists() {
        fs::rename(&current, &previous).map_err(|e| TrainError::io(&current, e))?;
    }
    fs::rename(&tmp, &current).map_err(|e| TrainError::io(&tmp, e))?;
    Ok(())
}

/// What to do about a damaged checkpoint in `dir`: resume from the previous epoch's when there
/// is one beside it, else start again.
fn previous_advice(run_dir: &Path, dir: &Path) -> String {
    let previous = run_dir.join(PREVIOUS);
    let epochs = fs::read_to_string(previous.join("state.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<TrainState>(&text).ok())
        .map(|state| state.completed_epochs);
    match epochs {
        Some(epochs) if dir != previous => format!(
            "the previous checkpoint ({epochs} epochs) is complete in {}: move it to {} \
             (replacing the damaged one) and resume, or delete the run folder and start again",
            previous.display(),
            dir.display()
        ),
        _ => "delete the run folder and start again".to_owned(),
    }
}

/// Restores the last complete checkpoint of `run_dir` into freshly built `model`,
/// `optimizer` and `scheduler` (built from the same config).
///
/// # Errors
/// [`TrainError::Checkpoint`] when there is none, a file is truncated or corrupt, or it
/// comes from a different model.
pub fn load(
    run_dir: &Path,
    model: Model,
    optimizer: ModuleOptimizer,
    scheduler: ModuleLrScheduler,
) -> Result<(Model, ModuleOptimizer, ModuleLrScheduler, TrainState), TrainError> {
    let dir = [CURRENT, PREVIOUS]
        .iter()
        .map(|name| run_dir.join(name))
        .find(|dir| dir.join("state.json").is_file())
        .ok_or_else(|| TrainError::Checkpoint {
            path: run_dir.join(CURRENT),
            problem: "no checkpoint to resume from: start without --resume".into(),
        })?;
    let advice = previous_advice(run_dir, &dir);
    let corrupt = |file: &str, e: String| TrainError::Checkpoint {
        path: dir.join(file),
        problem: format!("{e}; the checkpoint is damaged: {advice}"),
    };
    let state_path = dir.join("state.json");
    let text = fs::read_to_string(&state_path).map_err(|e| TrainError::io(&state_path, e))?;
    let state: TrainState =
        serde_json::from_str(&text).map_err(|e| corrupt("state.json", e.to_string()))?;
    if state.format != STATE_FORMAT {
        return Err(corrupt(
            "state.json",
            format!("format {} is not {STATE_FORMAT}", state.format),
        ));
    }
    let model = model
        .try_load_file(dir.join("model.bpk"))
        .map_err(|e| corrupt("model.bpk", e.to_string()))?;
    let optimizer_record = burn::optim::OptimizerRecord::load(dir.join("optimizer.bpk"))
        .map_err(|e| corrupt("optimizer.bpk", e.to_string()))?;
    let optimizer = optimizer.load_record(optimizer_record);
    let scheduler_record = LrSchedulerRecord::load(dir.join("scheduler.bpk"))
        .map_err(|e| corrupt("scheduler.bpk", e.to_string()))?;
    let scheduler = scheduler.load_record(scheduler_record);
    Ok((model, optimizer, scheduler, state))
}
