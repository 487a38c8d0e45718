//! Learning-rate schedules: linear warmup, then constant, cosine annealing or step decay
//! (burn-optim's schedulers, stepped once per batch), optionally scaled down by
//! [`ReduceOnPlateau`] when the validation metric stalls (which burn does not have).

use burn::optim::lr_scheduler::LrSchedulerConfig;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use serde::{Deserialize, Serialize};

/// How the learning rate moves over a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Epochs of linear warmup from `warmup_start · lr` to `lr`.
    #[serde(default)]
    pub warmup_epochs: usize,
    /// Where warmup starts, as a fraction of the peak learning rate.
    #[serde(default = "default_warmup_start")]
    pub warmup_start: f64,
    /// The shape after warmup.
    #[serde(default)]
    pub decay: Decay,
    /// Divide the learning rate when the monitored validation metric stalls.
    #[serde(default)]
    pub plateau: Option<PlateauConfig>,
}

fn default_warmup_start() -> f64 {
    0.01
}

impl Default for ScheduleConfig {
    /// The peak learning rate throughout: no warmup, no decay, no plateau.
    fn default() -> Self {
        Self {
            warmup_epochs: 0,
            warmup_start: default_warmup_start(),
            decay: Decay::Constant,
            plateau: None,
        }
    }
}

/// The learning rate after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Decay {
    /// The peak learning rate throughout.
    #[default]
    Constant,
    /// Cosine annealing from the peak to `min_lr` at the last step.
    Cosine {
        /// The final learning rate.
        #[serde(default)]
        min_lr: f64,
    },
    /// Multiply by `gamma` every `every_epochs` epochs.
    Step {
        /// Epochs between decays.
        every_epochs: usize,
        /// The factor, in `(0, 1)`.
        gamma: f64,
    },
}

impl ScheduleConfig {
    /// Checks the settings against the peak learning rate; `Err` says what is wrong.
    pub(crate) fn check(&self, lr: f64) -> Result<(), String> {
        if !(self.warmup_start > 0.0 && self.warmup_start <= 1.0) {
            return Err(format!(
                "warmup_start = {} is not in (0, 1]",
                self.warmup_start
            ));
        }
        match self.decay {
            Decay::Constant => {}
            Decay::Cosine { min_lr } => {
                if !(0.0..=lr).contains(&min_lr) {
                    return Err(format!("cosine min_lr = {min_lr} is not in [0, lr = {lr}]"));
                }
            }
            Decay::Step {
                every_epochs,
                gamma,
            } => {
                if every_epochs == 0 {
                    return Err("step every_epochs must be at least 1".into());
                }
                if !(gamma > 0.0 && gamma < 1.0) {
                    return Err(format!("step gamma = {gamma} is not in (0, 1)"));
                }
            }
        }
        if let Some(plateau) = &self.plateau {
            plateau.check()?;
        }
        Ok(())
    }

    /// Builds the per-batch scheduler for a run of `epochs` × `steps_per_epoch` steps that
    /// peaks at `lr`.
    ///
    /// # Errors
    /// burn-optim's message for an invalid combination.
    pub fn init(
        &self,
        lr: f64,
        epochs: usize,
        steps_per_epoch: usize,
    ) -> Result<ModuleLrScheduler, String> {
        let total = (epochs * steps_per_epoch).max(1);
        let warmup = (self.warmup_epochs * steps_per_epoch).min(total - 1);
        let main: LrSchedulerConfig = match self.decay {
            Decay::Constant => LrSchedulerConfig::Constant(lr),
            Decay::Cosine { min_lr } => LrSchedulerConfig::Cosine(
                CosineAnnealingLrSchedulerConfig::new(lr, (total - warmup).max(1))
                    .with_min_lr(min_lr),
            ),
            Decay::Step {
                every_epochs,
                gamma,
            } => LrSchedulerConfig::Step(
                StepLrSchedulerConfig::new(lr, every_epochs * steps_per_epoch.max(1))
                    .with_gamma(gamma),
            ),
        };
        if warmup == 0 {
            return SequentialLrSchedulerConfig::new(vec![main], vec![]).init();
        }
        let warm = LrSchedulerConfig::Linear(LinearLrSchedulerConfig::new(
            lr * self.warmup_start,
            lr,
            warmup,
        ));
        SequentialLrSchedulerConfig::new(vec![warm, main], vec![warmup]).init()
    }
}

/// Settings of [`ReduceOnPlateau`] (PyTorch's `ReduceLROnPlateau`, relative threshold).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateauConfig {
    /// The factor applied at each reduction, in `(0, 1)`.
    #[serde(default = "default_factor")]
    pub factor: f64,
    /// Epochs without improvement tolerated; the next one reduces.
    #[serde(default = "default_patience")]
    pub patience: usize,
    /// Relative change that counts as an improvement.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Epochs after a reduction during which no further reduction happens.
    #[serde(default)]
    pub cooldown: usize,
    /// The scale never goes below this fraction of the scheduled learning rate.
    #[serde(default = "default_min_scale")]
    pub min_scale: f64,
}

fn default_factor() -> f64 {
    0.1
}
fn default_patience() -> usize {
    5
}
fn default_threshold() -> f64 {
    1e-4
}
fn default_min_scale() -> f64 {
    1e-3
}

impl Default for PlateauConfig {
    fn default() -> Self {
        Self {
            factor: default_factor(),
            patience: default_patience(),
            threshold: default_threshold(),
            cooldown: 0,
            min_scale: default_min_scale(),
        }
    }
}

impl PlateauConfig {
    fn check(&self) -> Result<(), String> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(format!("plateau factor = {} is not in (0, 1)", self.factor));
        }
        if self.threshold.is_nan() || self.threshold < 0.0 {
            return Err(format!(
                "plateau threshold = {} is negative",
                self.threshold
            ));
        }
        if !(self.min_scale > 0.0 && self.min_scale <= 1.0) {
            return Err(format!(
                "plateau min_scale = {} is not in (0, 1]",
                self.min_scale
            ));
        }
        Ok(())
    }
}

/// Scales the learning rate down by `factor` when a validation metric has not improved for
/// more than `patience` epochs. Its state is plain data, saved in every checkpoint.
///
/// ```
/// use mien_train::schedule::{PlateauConfig, ReduceOnPlateau};
/// let config = PlateauConfig { patience: 1, ..PlateauConfig::default() };
/// let mut plateau = ReduceOnPlateau::new(config, false); // a loss: lower is better
/// for loss in [1.0, 0.9, 0.9, 0.9] {
///     plateau.observe(loss);
/// }
/// assert!((plateau.scale() - 0.1).abs() < 1e-12); // the 2nd epoch without improvement
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReduceOnPlateau {
    config: PlateauConfig,
    higher_is_better: bool,
    best: Option<f64>,
    bad_epochs: usize,
    cooldown_left: usize,
    scale: f64,
}

impl ReduceOnPlateau {
    /// A fresh schedule at scale 1 for a metric where `higher_is_better` (accuracy) or not
    /// (loss).
    pub fn new(config: PlateauConfig, higher_is_better: bool) -> Self {
        Self {
            config,
            higher_is_better,
            best: None,
            bad_epochs: 0,
            cooldown_left: 0,
            scale: 1.0,
        }
    }

    /// The factor the scheduled learning rate is multiplied by.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Records one epoch's metric; returns `true` when this reduced the learning rate.
    /// A NaN metric counts as no improvement.
    pub fn observe(&mut self, value: f64) -> bool {
        let improved = match self.best {
            None => !value.is_nan(),
            Some(best) if self.higher_is_better => value > best * (1.0 + self.config.threshold),
            Some(best) => value < best * (1.0 - self.config.threshold),
        };
        if improved {
            self.best = Some(value);
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > self.config.patience {
            let reduced = (self.scale * self.config.factor).max(self.config.min_scale);
            self.bad_epochs = 0;
            self.cooldown_left = self.config.cooldown;
            if reduced < self.scale - 1e-12 {
                self.scale = reduced;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lrs(config: ScheduleConfig, lr: f64, epochs: usize, steps: usize) -> Vec<f64> {
        let mut scheduler = config.init(lr, epochs, steps).unwrap();
        (0..epochs * steps)
            .map(|_| scheduler.step().base())
            .collect()
    }

    #[test]
    fn default_schedule_is_valid_and_equals_an_empty_json_object() {
        let empty: ScheduleConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ScheduleConfig::default());
        ScheduleConfig::default().check(1e-3).unwrap();
    }

    #[test]
    fn constant_without_warmup_stays_at_peak() {
        assert!(
            lrs(ScheduleConfig::default(), 0.01, 3, 4)
                .iter()
                .all(|&lr| (lr - 0.01).abs() < 1e-15)
        );
    }

    #[test]
    fn warmup_rises_linearly_then_cosine_reaches_min() {
        let config = ScheduleConfig {
            warmup_epochs: 1,
            warmup_start: 0.1,
            decay: Decay::Cosine { min_lr: 0.0 },
            plateau: None,
        };
        let lr = lrs(config, 1e-2, 5, 10);
        assert!(
            (lr[0] - 1e-3).abs() < 1e-12,
            "warmup starts at 10 %: {}",
            lr[0]
        );
        assert!(lr[..10].windows(2).all(|w| w[1] > w[0]), "warmup rises");
        assert!(
            (lr[10] - 1e-2).abs() < 1e-12,
            "peak right after warmup: {}",
            lr[10]
        );
        assert!(lr[10..].windows(2).all(|w| w[1] <= w[0]), "cosine falls");
        // Cosine over 40 steps: after half of them the rate is half the peak.
        assert!((lr[30] - 5e-3).abs() < 1e-9, "{}", lr[30]);
        assert!(lr[49] < 1e-4);
    }

    #[test]
    fn step_decay_every_two_epochs() {
        let config = ScheduleConfig {
            decay: Decay::Step {
                every_epochs: 2,
                gamma: 0.5,
            },
            ..ScheduleConfig::default()
        };
        let lr = lrs(config, 0.1, 6, 3);
        let per_epoch: Vec<f64> = lr.chunks(3).map(|c| c[0]).collect();
        let expected = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025];
        for (got, want) in per_epoch.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{per_epoch:?}");
        }
    }

    #[test]
    fn plateau_reduces_after_patience_and_respects_cooldown_and_floor() {
        // Accuracy (higher is better), patience 2, cooldown 1, factor 0.5, floor 0.2.
        let config = PlateauConfig {
            factor: 0.5,
            patience: 2,
            threshold: 0.0,
            cooldown: 1,
            min_scale: 0.2,
        };
        let mut plateau = ReduceOnPlateau::new(config, true);
        let metrics = [
            0.5, 0.6, 0.6, 0.59, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6,
        ];
        let scales: Vec<f64> = metrics
            .iter()
            .map(|&m| {
                plateau.observe(m);
                plateau.scale()
            })
            .collect();
        // Bad epochs: 3rd, 4th, 5th → the 5th (index 4) is the 3rd bad one > patience 2.
        // Cooldown swallows index 5; bad again at 6, 7, 8 → reduce at 8; then the floor.
        let expected = [
            1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2,
        ];
        assert_eq!(scales, expected);
    }

    #[test]
    fn plateau_for_a_loss_and_nan() {
        let mut plateau = ReduceOnPlateau::new(
            PlateauConfig {
                patience: 0,
                ..PlateauConfig::default()
            },
            false,
        );
        assert!(!plateau.observe(1.0));
        assert!(!plateau.observe(0.5));
        assert!(plateau.observe(f64::NAN));
        assert!((plateau.scale() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn plateau_state_round_trips_through_json() {
        let mut plateau = ReduceOnPlateau::new(PlateauConfig::default(), true);
        plateau.observe(0.3);
        plateau.observe(0.2);
        let json = serde_json::to_string(&plateau).unwrap();
        assert_eq!(
            serde_json::from_str::<ReduceOnPlateau>(&json).unwrap(),
            plateau
        );
    }
}
