//! Training objectives: cross-entropy on hard or soft (FER+ vote, mixup) targets with class
//! weights and label smoothing, MSE / Huber on smile intensity, and their weighted sum for
//! multi-task models.

use burn::nn::loss::{HuberLossConfig, MseLoss, Reduction};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use mien_data::sampling::ClassWeighting;
use serde::{Deserialize, Serialize};

/// The objective of an experiment. Classification heads use `emotion`, smile heads `smile`,
/// multi-task heads `emotion_weight · emotion + smile_weight · smile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    /// Cross-entropy settings for emotion classes.
    #[serde(default)]
    pub emotion: CrossEntropyConfig,
    /// Regression loss for smile intensity.
    #[serde(default)]
    pub smile: SmileLoss,
    /// Weight of the emotion term in a multi-task loss.
    #[serde(default = "one")]
    pub emotion_weight: f32,
    /// Weight of the smile term in a multi-task loss.
    #[serde(default = "one")]
    pub smile_weight: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            emotion: CrossEntropyConfig::default(),
            smile: SmileLoss::default(),
            emotion_weight: 1.0,
            smile_weight: 1.0,
        }
    }
}

impl LossConfig {
    /// Checks the settings; `Err` says what is wrong.
    pub(crate) fn check(&self, _smile_model: bool) -> Result<(), String> {
        let smoothing = self.emotion.label_smoothing;
        if !(0.0..1.0).contains(&smoothing) {
            return Err(format!(
                "emotion.label_smoothing = {smoothing} is not in [0, 1)"
            ));
        }
        if let SmileLoss::Huber { delta } = self.smile
            && (delta.is_nan() || delta <= 0.0)
        {
            return Err(format!("smile.delta = {delta} must be positive"));
        }
        for (name, w) in [
            ("emotion_weight", self.emotion_weight),
            ("smile_weight", self.smile_weight),
        ] {
            if !(w >= 0.0 && w.is_finite()) {
                return Err(format!("{name} = {w} must be a finite weight ≥ 0"));
            }
        }
        Ok(())
    }
}

/// Cross-entropy settings.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossEntropyConfig {
    /// ε of label smoothing: targets become `(1 − ε)·t + ε/K`.
    #[serde(default)]
    pub label_smoothing: f32,
    /// Per-class weights computed from the training split's class counts; `None` weighs
    /// every face the same.
    #[serde(default)]
    pub class_weights: Option<ClassWeighting>,
}

/// Loss on predicted smile intensity (after the sigmoid) against the vote fraction.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SmileLoss {
    /// Mean squared error.
    #[default]
    Mse,
    /// Huber loss: quadratic below `delta`, linear above.
    Huber {
        /// Where the loss turns linear.
        delta: f32,
    },
}

impl SmileLoss {
    /// The mean loss of `predicted` `[N]` against `target` `[N]`, both in `[0, 1]`.
    pub fn forward(&self, predicted: Tensor<1>, target: Tensor<1>) -> Tensor<1> {
        match *self {
            SmileLoss::Mse => MseLoss::new().forward(predicted, target, Reduction::Mean),
            SmileLoss::Huber { delta } => {
                HuberLossConfig::new(delta)
                    .init()
                    .forward(predicted, target, Reduction::Mean)
            }
        }
    }

    /// The mean loss over the faces whose `mask` is 1 (faces without a smile truth have
    /// mask 0); 0 when no face has one. Returns `[1]`.
    pub fn masked(&self, predicted: Tensor<1>, target: Tensor<1>, mask: Tensor<1>) -> Tensor<1> {
        let per_face = match *self {
            SmileLoss::Mse => MseLoss::new().forward_no_reduction(predicted, target),
            SmileLoss::Huber { delta } => HuberLossConfig::new(delta)
                .init()
                .forward_no_reduction(predicted, target),
        };
        (per_face * mask.clone()).sum() / mask.sum().clamp_min(1.0)
    }
}

/// The multi-task objective: `emotion_weight · emotion + smile_weight · smile`.
pub fn multi_task_loss(config: &LossConfig, emotion: Tensor<1>, smile: Tensor<1>) -> Tensor<1> {
    emotion * config.emotion_weight + smile * config.smile_weight
}

/// Cross-entropy of `logits` `[N, K]` against target distributions `targets` `[N, K]`
/// (one-hot rows for hard labels; vote fractions for FER+; blends after mixup).
///
/// With label smoothing ε the targets become `t' = (1 − ε)·t + ε/K`. With class weights `w`
/// each face weighs `s_i = Σ_k t_ik·w_k` (its class's weight for a hard label) and the loss
/// is the weighted mean `Σ s_i·ℓ_i / Σ s_i`, where `ℓ_i = −Σ_k t'_ik·log softmax(x_i)_k`:
/// for hard labels without smoothing this is PyTorch's `CrossEntropyLoss(weight=w)`.
/// PyTorch weighs the smoothing term per class instead; the two agree when `w` is uniform.
///
/// Returns a `[1]` tensor.
pub fn soft_cross_entropy(
    logits: Tensor<2>,
    targets: Tensor<2>,
    label_smoothing: f32,
    class_weights: Option<&Tensor<1>>,
) -> Tensor<1> {
    let [_, k] = logits.dims();
    let smoothed = if label_smoothing > 0.0 {
        targets.clone() * (1.0 - label_smoothing) + label_smoothing / k as f32
    } else {
        targets.clone()
    };
    // ℓ_i: [N, 1]
    let per_face = (smoothed * log_softmax(logits, 1)).sum_dim(1).neg();
    match class_weights {
        None => per_face.mean(),
        Some(weights) => {
            let face_weights = (targets * weights.clone().unsqueeze_dim::<2>(0)).sum_dim(1);
            (per_face * face_weights.clone()).sum() / face_weights.sum()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::loss::CrossEntropyLossConfig;
    use mien_core::read_f32;

    fn device() -> Device {
        mien_core::device::cpu()
    }

    fn scalar(t: Tensor<1>) -> f32 {
        read_f32(t).unwrap()[0]
    }

    fn logits() -> Tensor<2> {
        Tensor::from_floats(
            [[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0]],
            &device(),
        )
    }

    fn one_hot(labels: &[usize], k: usize) -> Tensor<2> {
        let mut v = vec![0.0f32; labels.len() * k];
        for (i, &l) in labels.iter().enumerate() {
            v[i * k + l] = 1.0;
        }
        Tensor::from_data(TensorData::new(v, [labels.len(), k]), &device())
    }

    #[test]
    fn hard_labels_match_burns_cross_entropy() {
        let labels = [0usize, 2, 1];
        let reference = CrossEntropyLossConfig::new()
            .init(&device())
            .forward(logits(), Tensor::from_ints([0, 2, 1], &device()));
        let ours = soft_cross_entropy(logits(), one_hot(&labels, 3), 0.0, None);
        assert!((scalar(ours) - scalar(reference)).abs() < 1e-6);
    }

    #[test]
    fn class_weights_match_burns_weighted_cross_entropy() {
        let weights = vec![0.5f32, 2.0, 1.0];
        let reference = CrossEntropyLossConfig::new()
            .with_weights(Some(weights.clone()))
            .init(&device())
            .forward(logits(), Tensor::from_ints([0, 2, 1], &device()));
        let w = Tensor::from_floats(weights.as_slice(), &device());
        let ours = soft_cross_entropy(logits(), one_hot(&[0, 2, 1], 3), 0.0, Some(&w));
        assert!((scalar(ours) - scalar(reference)).abs() < 1e-6);
    }

    #[test]
    fn smoothing_and_soft_targets_by_hand() {
        // One face, logits 0 everywhere: log softmax = −ln 3 for all three classes, so any
        // target distribution gives ln 3.
        let zeros = Tensor::<2>::zeros([1, 3], &device());
        let soft = Tensor::from_floats([[0.2, 0.3, 0.5]], &device());
        let loss = scalar(soft_cross_entropy(zeros, soft, 0.1, None));
        assert!((loss - 3f32.ln()).abs() < 1e-6);

        // Logits [ln 1, ln 3] → p = [0.25, 0.75]; target [1, 0] smoothed with ε = 0.2 is
        // [0.9, 0.1]: loss = −(0.9 ln 0.25 + 0.1 ln 0.75).
        let x = Tensor::from_floats([[0.0, 3f32.ln()]], &device());
        let t = Tensor::from_floats([[1.0, 0.0]], &device());
        let expected = -(0.9 * 0.25f32.ln() + 0.1 * 0.75f32.ln());
        assert!((scalar(soft_cross_entropy(x, t, 0.2, None)) - expected).abs() < 1e-6);
    }

    #[test]
    fn masked_smile_loss_ignores_faces_without_truth_and_weights_add_up() {
        let p = Tensor::from_floats([0.5, 1.0, 0.0], &device());
        let t = Tensor::from_floats([0.0, 0.0, 0.0], &device());
        let mask = Tensor::from_floats([1.0, 0.0, 1.0], &device());
        // (0.25 + 0) / 2 faces with truth.
        let loss = scalar(SmileLoss::Mse.masked(p.clone(), t.clone(), mask));
        assert!((loss - 0.125).abs() < 1e-6);
        let none = scalar(SmileLoss::Mse.masked(p, t, Tensor::zeros([3], &device())));
        assert_eq!(none, 0.0);
        let config = LossConfig {
            emotion_weight: 2.0,
            smile_weight: 0.5,
            ..LossConfig::default()
        };
        let total = multi_task_loss(
            &config,
            Tensor::from_floats([1.5], &device()),
            Tensor::from_floats([0.4], &device()),
        );
        assert!((scalar(total) - 3.2).abs() < 1e-6);
    }

    #[test]
    fn smile_losses_by_hand() {
        let p = Tensor::from_floats([0.0, 0.5, 1.0], &device());
        let t = Tensor::from_floats([0.0, 0.0, 0.0], &device());
        // MSE: (0 + 0.25 + 1) / 3.
        let mse = scalar(SmileLoss::Mse.forward(p.clone(), t.clone()));
        assert!((mse - 1.25 / 3.0).abs() < 1e-6);
        // Huber δ = 0.5: 0, 0.5·0.25 = 0.125, 0.5·(1 − 0.25) = 0.375 → mean 1/6.
        let huber = scalar(SmileLoss::Huber { delta: 0.5 }.forward(p, t));
        assert!((huber - 0.5 / 3.0).abs() < 1e-6);
    }
}
