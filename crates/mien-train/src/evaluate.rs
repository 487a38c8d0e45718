//! Measuring a model on a split: predictions (with optional test-time augmentation) and a
//! [`Report`] of every metric the faces' labels allow.

use std::collections::BTreeMap;

use burn::nn::interpolate::{Interpolate2dConfig, InterpolateMode};
use burn::prelude::*;
use mien_core::{LabelSet, Preprocessing, read_f32};
use mien_data::{FaceDataset, MajorityRule};
use mien_models::weights::{HeadSpec, Model, ModelSpec};
use serde::{Deserialize, Serialize};

use crate::TrainError;
use crate::config::TtaConfig;
use crate::metrics::{ClassMetrics, ConfusionMatrix, RegressionMetrics};

/// What a model predicted for every face of a dataset, in dataset order.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Class probabilities, `num_classes` values per face, when the model has an emotion head.
    pub emotion: Option<(LabelSet, Vec<f32>)>,
    /// Smile intensity per face, when the model has a smile head.
    pub smile: Option<Vec<f32>>,
}

impl Predictions {
    /// The probabilities of face `i`.
    pub fn probabilities(&self, i: usize) -> Option<&[f32]> {
        let (set, probs) = self.emotion.as_ref()?;
        let k = set.num_classes();
        probs.get(i * k..(i + 1) * k)
    }

    /// The most probable class of face `i`.
    pub fn class(&self, i: usize) -> Option<usize> {
        argmax(self.probabilities(i)?)
    }
}

/// Index of the largest value (the first of ties); `None` when empty or all NaN.
pub fn argmax(values: &[f32]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .fold(None, |best: Option<(usize, f32)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

/// Predicts every face of `faces` in batches of `batch_size`, averaging over the TTA views.
///
/// `model` should be in validation mode (see `Module::valid`), on `device`, and built from
/// `spec` (whose preprocessing and head are used).
///
/// # Errors
/// [`TrainError::NoFaces`] for an empty dataset, [`TrainError::Face`] for a face the
/// preprocessing cannot take.
pub fn predict(
    model: &Model,
    spec: &ModelSpec,
    faces: &FaceDataset,
    tta: TtaConfig,
    batch_size: usize,
    device: &Device,
) -> Result<Predictions, TrainError> {
    if faces.is_empty() {
        return Err(TrainError::NoFaces("nothing to evaluate".into()));
    }
    let preprocessing = &spec.preprocessing;
    let views = Views::new(tta, preprocessing);
    let (mut emotion, mut smile) = (Vec::new(), Vec::new());
    let label_set = match spec.head {
        HeadSpec::Emotion { label_set } | HeadSpec::MultiTask { label_set } => Some(label_set),
        HeadSpec::Smile => None,
    };
    let indices: Vec<usize> = (0..faces.len()).collect();
    for chunk in indices.chunks(batch_size.max(1)) {
        let mut values = Vec::with_capacity(chunk.len() * preprocessing.values_per_image());
        for &i in chunk {
            let image = faces.image(i).expect("index in range");
            values.extend(preprocessing.gray_values(&image).map_err(|source| {
                TrainError::Face {
                    face: faces.records()[i].source.clone(),
                    source,
                }
            })?);
        }
        let images = preprocessing.tensor_from_values(values, device)?;
        let (probs, intensity) = forward_views(model, &views, images);
        if let Some(p) = probs {
            emotion.extend(read_f32(p)?);
        }
        if let Some(s) = intensity {
            smile.extend(read_f32(s)?);
        }
    }
    Ok(Predictions {
        emotion: label_set.map(|set| (set, emotion)),
        smile: (!smile.is_empty()).then_some(smile),
    })
}

/// The TTA views of a batch.
struct Views {
    flip: bool,
    crops: Vec<[usize; 2]>,
    margin: usize,
    size: [usize; 2],
}

impl Views {
    fn new(tta: TtaConfig, preprocessing: &Preprocessing) -> Self {
        let size = [preprocessing.height as usize, preprocessing.width as usize];
        let margin = tta
            .crop_margin
            .map_or(0, |m| m as usize)
            .min(size[0].min(size[1]).saturating_sub(1) / 2);
        let crops = if margin == 0 {
            Vec::new()
        } else {
            let (y1, x1) = (2 * margin, 2 * margin);
            vec![[0, 0], [0, x1], [y1, 0], [y1, x1], [margin, margin]]
        };
        Self {
            flip: tta.flip,
            crops,
            margin,
            size,
        }
    }

    /// `[N, C, H, W]` → every view, each `[N, C, H, W]`.
    fn apply(&self, images: Tensor<4>) -> Vec<Tensor<4>> {
        let mut views = vec![images.clone()];
        if self.flip {
            views.push(images.clone().flip([3]));
        }
        if !self.crops.is_empty() {
            let [h, w] = self.size;
            let (ch, cw) = (h - 2 * self.margin, w - 2 * self.margin);
            let resize = Interpolate2dConfig::new()
                .with_output_size(Some([h, w]))
                .with_mode(InterpolateMode::Linear)
                .init();
            for &[y, x] in &self.crops {
                let [n, c, _, _] = images.dims();
                let crop = images.clone().slice([0..n, 0..c, y..y + ch, x..x + cw]);
                views.push(resize.forward(crop));
            }
        }
        views
    }
}

/// Class probabilities `[N, K]` and smile intensities `[N]`, averaged over the views.
fn forward_views(
    model: &Model,
    views: &Views,
    images: Tensor<4>,
) -> (Option<Tensor<2>>, Option<Tensor<1>>) {
    let views = views.apply(images);
    let n = views.len() as f32;
    let mut probs: Option<Tensor<2>> = None;
    let mut smile: Option<Tensor<1>> = None;
    let add2 = |acc: Option<Tensor<2>>, t: Tensor<2>| Some(acc.map_or(t.clone(), |a| a + t));
    let add1 = |acc: Option<Tensor<1>>, t: Tensor<1>| Some(acc.map_or(t.clone(), |a| a + t));
    for view in views {
        let prediction = model.predict(view);
        if let Some(p) = prediction.probabilities {
            probs = add2(probs, p);
        }
        if let Some(s) = prediction.smile {
            smile = add1(smile, s);
        }
    }
    (probs.map(|p| p / n), smile.map(|s| s / n))
}

/// The metrics of one model on one split. Keys are stable: tools read this JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Faces in the split.
    pub n: usize,
    /// What the class indices of `confusion` mean.
    pub label_set: Option<LabelSet>,
    /// The truth the classification metrics are measured against: `fer2013` labels, or
    /// the `ferplus_majority` vote for FER+ models.
    pub truth: Option<String>,
    /// Faces with that truth (the classification metrics' denominator).
    pub n_labelled: usize,
    /// Fraction classified correctly; `null` for a smile-only model.
    pub accuracy: Option<f64>,
    /// Unweighted mean F1 over the classes present.
    pub macro_f1: Option<f64>,
    /// Precision, recall, F1 and support by class name.
    pub per_class: Option<BTreeMap<String, ClassMetrics>>,
    /// `confusion[truth][predicted]` in label-set order.
    pub confusion: Option<Vec<Vec<u64>>>,
    /// Accuracy against the FER+ majority vote (Barsoum's strict rule), when the faces have
    /// FER+ votes. A 7-class FER2013 model cannot predict contempt: those faces count as wrong.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ferplus_majority_accuracy: Option<f64>,
    /// Faces with a FER+ majority.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ferplus_n: Option<usize>,
    /// Pearson r of predicted smile intensity against the happiness vote fraction.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smile_pearson: Option<f64>,
    /// Mean absolute error of smile intensity.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smile_mae: Option<f64>,
    /// Root mean squared error of smile intensity.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smile_rmse: Option<f64>,
    /// Faces with a smile-intensity truth.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smile_n: Option<usize>,
    /// Validation loss (unweighted, unsmoothed cross-entropy or MSE); set by the trainer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loss: Option<f64>,
    /// The test-time augmentation used.
    pub tta: TtaConfig,
}

/// Which labels the classification metrics compare against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    /// FER2013's own labels (7 classes).
    Fer2013,
    /// The FER+ majority vote under a rule (8 classes).
    FerPlusMajority(MajorityRule),
}

impl Truth {
    /// The natural truth for a label set: FER2013 labels for FER2013 models, the strict FER+
    /// majority for FER+ models.
    pub fn for_label_set(set: LabelSet) -> Self {
        match set {
            LabelSet::Fer2013 => Truth::Fer2013,
            LabelSet::FerPlus => Truth::FerPlusMajority(MajorityRule::Strict),
        }
    }

    fn class(self, record: &mien_data::FaceRecord) -> Option<usize> {
        match self {
            Truth::Fer2013 => record.fer2013.map(usize::from),
            Truth::FerPlusMajority(rule) => record.votes?.majority(rule),
        }
    }

    fn label_set(self) -> LabelSet {
        match self {
            Truth::Fer2013 => LabelSet::Fer2013,
            Truth::FerPlusMajority(_) => LabelSet::FerPlus,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Truth::Fer2013 => "fer2013",
            Truth::FerPlusMajority(_) => "ferplus_majority",
        }
    }
}

impl Report {
    /// Every metric `predictions` allow on `faces` (the faces they were made on).
    pub fn new(predictions: &Predictions, faces: &FaceDataset, tta: TtaConfig) -> Self {
        let records = faces.records();
        let mut report = Report {
            n: records.len(),
            label_set: None,
            truth: None,
            n_labelled: 0,
            accuracy: None,
            macro_f1: None,
            per_class: None,
            confusion: None,
            ferplus_majority_accuracy: None,
            ferplus_n: None,
            smile_pearson: None,
            smile_mae: None,
            smile_rmse: None,
            smile_n: None,
            loss: None,
            tta,
        };
        if let Some((set, _)) = &predictions.emotion {
            let set = *set;
            let truth = Truth::for_label_set(set);
            let mut confusion = ConfusionMatrix::new(set.num_classes());
            for (i, record) in records.iter().enumerate() {
                if let (Some(t), Some(p)) = (truth.class(record), predictions.class(i)) {
                    let t = truth.label_set().convert_index(t, set);
                    if let Some(t) = t {
                        confusion.add(t, p);
                    }
                }
            }
            report.label_set = Some(set);
            report.truth = Some(truth.name().to_owned());
            report.n_labelled = confusion.total() as usize;
            if confusion.total() > 0 {
                report.accuracy = Some(confusion.accuracy());
                report.macro_f1 = Some(confusion.macro_f1());
                report.per_class = Some(
                    set.emotions()
                        .iter()
                        .zip(confusion.per_class())
                        .map(|(e, m)| (e.name().to_owned(), m))
                        .collect(),
                );
            }
            report.confusion = Some(confusion.rows().to_vec());

            let (mut hits, mut total) = (0usize, 0usize);
            for (i, record) in records.iter().enumerate() {
                let majority = record.votes.and_then(|v| v.majority(MajorityRule::Strict));
                if let (Some(m), Some(p)) = (majority, predictions.class(i)) {
                    total += 1;
                    hits += usize::from(set.convert_index(p, LabelSet::FerPlus) == Some(m));
                }
            }
            if total > 0 {
                report.ferplus_majority_accuracy = Some(hits as f64 / total as f64);
                report.ferplus_n = Some(total);
            }
        }
        if let Some(smile) = &predictions.smile {
            let (predicted, truth): (Vec<f32>, Vec<f32>) = records
                .iter()
                .zip(smile)
                .filter_map(|(r, &p)| Some((p, r.votes?.smile_intensity()?)))
                .unzip();
            if let Some(m) = RegressionMetrics::new(&predicted, &truth) {
                report.smile_pearson = Some(m.pearson);
                report.smile_mae = Some(m.mae);
                report.smile_rmse = Some(m.rmse);
                report.smile_n = Some(m.n);
            }
        }
        report
    }

    /// A short human-readable summary, one metric per line.
    pub fn summary(&self) -> String {
        let mut lines = vec![format!("faces: {}", self.n)];
        if let (Some(acc), Some(f1)) = (self.accuracy, self.macro_f1) {
            lines.push(format!(
                "accuracy ({}, {} faces): {:.4}",
                self.truth.as_deref().unwrap_or("?"),
                self.n_labelled,
                acc
            ));
            lines.push(format!("macro-F1: {f1:.4}"));
        }
        if let Some(per_class) = &self.per_class {
            lines.push(format!(
                "{:<10} {:>9} {:>7} {:>7} {:>8}",
                "class", "precision", "recall", "f1", "support"
            ));
            if let Some(set) = self.label_set {
                for e in set.emotions() {
                    if let Some(m) = per_class.get(e.name()) {
                        lines.push(format!(
                            "{:<10} {:>9.3} {:>7.3} {:>7.3} {:>8}",
                            e.name(),
                            m.precision,
                            m.recall,
                            m.f1,
                            m.support
                        ));
                    }
                }
            }
        }
        if let Some(acc) = self.ferplus_majority_accuracy {
            lines.push(format!(
                "FER+ majority accuracy ({} faces): {acc:.4}",
                self.ferplus_n.unwrap_or(0)
            ));
        }
        if let (Some(r), Some(mae)) = (self.smile_pearson, self.smile_mae) {
            lines.push(format!(
                "smile intensity ({} faces): Pearson r {r:.4}, MAE {mae:.4}, RMSE {:.4}",
                self.smile_n.unwrap_or(0),
                self.smile_rmse.unwrap_or(f64::NAN)
            ));
        }
        if let Some(loss) = self.loss {
            lines.push(format!("loss: {loss:.4}"));
        }
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GrayImage;
    use mien_data::{FaceRecord, Split, Votes};

    fn faces(labels: &[(Option<u8>, Option<[u8; 10]>)]) -> FaceDataset {
        let mut data = FaceDataset::new(1, 1);
        for (i, (label, votes)) in labels.iter().enumerate() {
            let record = FaceRecord {
                split: Split::PublicTest,
                source: format!("face {i}"),
                fer2013: *label,
                votes: votes.map(Votes),
            };
            data.push(&GrayImage::from_raw(1, 1, vec![i as u8]).unwrap(), record)
                .unwrap();
        }
        data
    }

    fn one_hot(classes: &[usize], k: usize) -> Vec<f32> {
        classes
            .iter()
            .flat_map(|&c| (0..k).map(move |j| if j == c { 0.9 } else { 0.1 / (k - 1) as f32 }))
            .collect()
    }

    #[test]
    fn report_of_a_fer2013_model_with_votes() {
        // Votes: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
        let happy_votes = [0, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        let contempt_votes = [1, 0, 0, 0, 0, 0, 0, 9, 0, 0];
        let data = faces(&[
            (Some(3), Some(happy_votes)),    // happy, predicted happy
            (Some(0), Some(contempt_votes)), // angry, predicted angry; FER+ says contempt
            (Some(6), None),                 // neutral, predicted sad
            (None, None),                    // no label at all
        ]);
        let predictions = Predictions {
            emotion: Some((LabelSet::Fer2013, one_hot(&[3, 0, 4, 5], 7))),
            smile: Some(vec![0.8, 0.1, 0.2, 0.3]),
        };
        let report = Report::new(&predictions, &data, TtaConfig::default());
        assert_eq!(report.n, 4);
        assert_eq!(report.n_labelled, 3);
        assert!((report.accuracy.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let confusion = report.confusion.as_ref().unwrap();
        assert_eq!(confusion[6][4], 1);
        assert_eq!(confusion[3][3], 1);
        // FER+ majority: face 0 happy (right), face 1 contempt (a 7-class model is wrong).
        assert_eq!(report.ferplus_n, Some(2));
        assert_eq!(report.ferplus_majority_accuracy, Some(0.5));
        // Smile truth exists for faces 0 (1.0) and 1 (0.0).
        assert_eq!(report.smile_n, Some(2));
        assert!((report.smile_mae.unwrap() - 0.15).abs() < 1e-6);
        let json = serde_json::to_value(&report).unwrap();
        for key in ["accuracy", "macro_f1", "per_class", "confusion", "n"] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert!(json["per_class"]["happy"]["f1"].as_f64().unwrap() > 0.99);
    }

    #[test]
    fn smile_only_model_has_null_classification_keys() {
        let data = faces(&[(Some(3), Some([0, 6, 0, 0, 0, 0, 0, 0, 0, 0]))]);
        let predictions = Predictions {
            emotion: None,
            smile: Some(vec![0.5]),
        };
        let json =
            serde_json::to_value(Report::new(&predictions, &data, TtaConfig::default())).unwrap();
        assert!(json["accuracy"].is_null());
        assert!(json.get("ferplus_majority_accuracy").is_none());
        assert_eq!(json["smile_n"], 1);
    }

    #[test]
    fn argmax_takes_the_first_of_ties_and_skips_nan() {
        assert_eq!(argmax(&[0.1, 0.5, 0.5]), Some(1));
        assert_eq!(argmax(&[f32::NAN, 0.2]), Some(1));
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn flip_tta_averages_a_face_and_its_mirror() {
        let device = mien_core::device::cpu();
        let pre = Preprocessing::gray(4, 4);
        let views = Views::new(TtaConfig::FLIP, &pre);
        let x = Tensor::<1, Int>::arange(0..16, &device)
            .float()
            .reshape([1, 1, 4, 4]);
        let out = views.apply(x);
        assert_eq!(out.len(), 2);
        let mirrored = read_f32(out[1].clone()).unwrap();
        assert_eq!(&mirrored[..4], &[3.0, 2.0, 1.0, 0.0]);
        let crops = Views::new(
            TtaConfig {
                flip: false,
                crop_margin: Some(1),
            },
            &pre,
        );
        let out = crops.apply(Tensor::ones([2, 1, 4, 4], &device));
        assert_eq!(out.len(), 6);
        assert!(out.iter().all(|v| v.dims() == [2, 1, 4, 4]));
    }
}
