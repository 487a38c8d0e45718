//! Optimisers: AdamW and SGD with momentum, from burn-optim, with optional gradient clipping.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

/// The optimiser of an experiment and its peak learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum OptimizerConfig {
    /// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay.
    #[serde(rename = "adamw")]
    AdamW {
        /// Peak learning rate.
        lr: f64,
        /// Decoupled weight decay.
        #[serde(default = "default_adamw_decay")]
        weight_decay: f32,
        /// First-moment decay.
        #[serde(default = "default_beta_1")]
        beta_1: f32,
        /// Second-moment decay.
        #[serde(default = "default_beta_2")]
        beta_2: f32,
        /// Gradient clipping.
        #[serde(default)]
        clip: Option<Clip>,
    },
    /// Stochastic gradient descent with (optionally Nesterov) momentum and L2 weight decay.
    Sgd {
        /// Peak learning rate.
        lr: f64,
        /// Momentum factor (0 for plain SGD).
        #[serde(default = "default_momentum")]
        momentum: f64,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
        /// L2 penalty added to the gradients.
        #[serde(default)]
        weight_decay: f32,
        /// Gradient clipping.
        #[serde(default)]
        clip: Option<Clip>,
    },
}

fn default_adamw_decay() -> f32 {
    1e-4
}
fn default_beta_1() -> f32 {
    0.9
}
fn default_beta_2() -> f32 {
    0.999
}
fn default_momentum() -> f64 {
    0.9
}

impl Default for OptimizerConfig {
    /// AdamW at 1e-3 with weight decay 1e-4.
    fn default() -> Self {
        OptimizerConfig::AdamW {
            lr: 1e-3,
            weight_decay: default_adamw_decay(),
            beta_1: default_beta_1(),
            beta_2: default_beta_2(),
            clip: None,
        }
    }
}

/// Gradient clipping, applied to each parameter's gradient (burn-optim's semantics).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Clip {
    /// Rescale a gradient whose L2 norm exceeds this.
    Norm(f32),
    /// Clamp every gradient value to `[-v, v]`.
    Value(f32),
}

impl Clip {
    fn to_burn(self) -> GradientClippingConfig {
        match self {
            Clip::Norm(n) => GradientClippingConfig::Norm(n),
            Clip::Value(v) => GradientClippingConfig::Value(v),
        }
    }
}

impl OptimizerConfig {
    /// The same optimiser with peak learning rate `lr`.
    pub fn with_lr(self, lr: f64) -> Self {
        match self {
            OptimizerConfig::AdamW {
                weight_decay,
                beta_1,
                beta_2,
                clip,
                ..
            } => OptimizerConfig::AdamW {
                lr,
                weight_decay,
                beta_1,
                beta_2,
                clip,
            },
            OptimizerConfig::Sgd {
                momentum,
                nesterov,
                weight_decay,
                clip,
                ..
            } => OptimizerConfig::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
                clip,
            },
        }
    }

    /// The peak learning rate that schedules scale.
    pub fn learning_rate(&self) -> f64 {
        match *self {
            OptimizerConfig::AdamW { lr, .. } | OptimizerConfig::Sgd { lr, .. } => lr,
        }
    }

    /// Checks the settings; `Err` says what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        let lr = self.learning_rate();
        if !(lr > 0.0 && lr <= 1.0) {
            return Err(format!("lr = {lr} is not in (0, 1]"));
        }
        let (clip, decay) = match *self {
            OptimizerConfig::AdamW {
                clip,
                weight_decay,
                beta_1,
                beta_2,
                ..
            } => {
                for (name, beta) in [("beta_1", beta_1), ("beta_2", beta_2)] {
                    if !(0.0..1.0).contains(&beta) {
                        return Err(format!("{name} = {beta} is not in [0, 1)"));
                    }
                }
                (clip, weight_decay)
            }
            OptimizerConfig::Sgd {
                clip,
                weight_decay,
                momentum,
                ..
            } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(format!("momentum = {momentum} is not in [0, 1)"));
                }
                (clip, weight_decay)
            }
        };
        if !(decay >= 0.0 && decay.is_finite()) {
            return Err(format!("weight_decay = {decay} must be ≥ 0"));
        }
        if let Some(Clip::Norm(v) | Clip::Value(v)) = clip
            && (v.is_nan() || v <= 0.0)
        {
            return Err(format!("clip = {v} must be positive"));
        }
        Ok(())
    }

    /// Builds the burn optimiser.
    pub fn init(&self) -> ModuleOptimizer {
        match *self {
            OptimizerConfig::AdamW {
                weight_decay,
                beta_1,
                beta_2,
                clip,
                ..
            } => AdamWConfig::new()
                .with_weight_decay(weight_decay)
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_grad_clipping(clip.map(Clip::to_burn))
                .init(),
            OptimizerConfig::Sgd {
                momentum,
                nesterov,
                weight_decay,
                clip,
                ..
            } => {
                let momentum = (momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                        .with_nesterov(nesterov)
                });
                let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay));
                SgdConfig::new()
                    .with_momentum(momentum)
                    .with_weight_decay(decay)
                    .with_gradient_clipping(clip.map(Clip::to_burn))
                    .init()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_lr_changes_the_learning_rate_alone() {
        let adamw: OptimizerConfig =
            serde_json::from_str(r#"{"kind": "adamw", "lr": 0.001, "weight_decay": 0.05}"#)
                .unwrap();
        let sgd: OptimizerConfig =
            serde_json::from_str(r#"{"kind": "sgd", "lr": 0.1, "momentum": 0.8}"#).unwrap();
        for config in [adamw, sgd] {
            let changed = config.with_lr(0.5);
            assert_eq!(changed.learning_rate(), 0.5);
            assert_eq!(changed.with_lr(config.learning_rate()), config);
        }
    }
}
