//! Evaluation metrics: confusion matrix, accuracy, per-class precision / recall / F1,
//! macro-F1; MAE, RMSE and Pearson r for smile intensity.

use serde::{Deserialize, Serialize};

/// Counts of (true class, predicted class) pairs: `counts[truth][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// An all-zero matrix for `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Self {
            counts: vec![vec![0; num_classes]; num_classes],
        }
    }

    /// A matrix from rows of counts (`rows[truth][predicted]`); `None` unless square.
    pub fn from_rows(rows: Vec<Vec<u64>>) -> Option<Self> {
        let n = rows.len();
        rows.iter()
            .all(|r| r.len() == n)
            .then_some(Self { counts: rows })
    }

    /// Records one face; indices outside the matrix are ignored and reported as `false`.
    pub fn add(&mut self, truth: usize, predicted: usize) -> bool {
        match self
            .counts
            .get_mut(truth)
            .and_then(|row| row.get_mut(predicted))
        {
            Some(cell) => {
                *cell += 1;
                true
            }
            None => false,
        }
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// `rows()[truth][predicted]`.
    pub fn rows(&self) -> &[Vec<u64>] {
        &self.counts
    }

    /// Faces counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Faces classified correctly.
    pub fn correct(&self) -> u64 {
        (0..self.num_classes()).map(|c| self.counts[c][c]).sum()
    }

    /// Fraction classified correctly (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Precision, recall, F1 and support of every class.
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        let k = self.num_classes();
        (0..k)
            .map(|c| {
                let tp = self.counts[c][c];
                let support: u64 = self.counts[c].iter().sum();
                let predicted: u64 = (0..k).map(|t| self.counts[t][c]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// The unweighted mean F1 over the classes that occur in the truth (scikit-learn's
    /// `f1_score(average="macro")` restricted to classes with support, so that a class
    /// absent from an evaluation set does not count as 0).
    pub fn macro_f1(&self) -> f64 {
        let present: Vec<f64> = self
            .per_class()
            .iter()
            .filter(|m| m.support > 0)
            .map(|m| m.f1)
            .collect();
        if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Of the faces predicted as this class, the fraction that are.
    pub precision: f64,
    /// Of the faces of this class, the fraction predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Faces of this class.
    pub support: u64,
}

/// Agreement of predicted and true smile intensities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Pearson correlation (0 when either side is constant).
    pub pearson: f64,
    /// Pairs compared.
    pub n: usize,
}

impl RegressionMetrics {
    /// Metrics of `predicted` against `truth`; `None` for no pairs or different lengths.
    pub fn new(predicted: &[f32], truth: &[f32]) -> Option<Self> {
        let n = predicted.len();
        if n == 0 || truth.len() != n {
            return None;
        }
        let nf = n as f64;
        let pairs = || {
            predicted
                .iter()
                .zip(truth)
                .map(|(&p, &t)| (p as f64, t as f64))
        };
        let mae = pairs().map(|(p, t)| (p - t).abs()).sum::<f64>() / nf;
        let rmse = (pairs().map(|(p, t)| (p - t).powi(2)).sum::<f64>() / nf).sqrt();
        let mean_p = pairs().map(|(p, _)| p).sum::<f64>() / nf;
        let mean_t = pairs().map(|(_, t)| t).sum::<f64>() / nf;
        let cov: f64 = pairs().map(|(p, t)| (p - mean_p) * (t - mean_t)).sum();
        let var_p: f64 = pairs().map(|(p, _)| (p - mean_p).powi(2)).sum();
        let var_t: f64 = pairs().map(|(_, t)| (t - mean_t).powi(2)).sum();
        let pearson = if var_p > 0.0 && var_t > 0.0 {
            cov / (var_p * var_t).sqrt()
        } else {
            0.0
        };
        Some(Self {
            mae,
            rmse,
            pearson,
            n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 3 classes, 10 faces:
    /// ```text
    ///            predicted
    ///            0  1  2
    /// truth 0  [ 3, 1, 0 ]
    ///       1  [ 0, 2, 2 ]
    ///       2  [ 1, 0, 1 ]
    /// ```
    fn example() -> ConfusionMatrix {
        ConfusionMatrix::from_rows(vec![vec![3, 1, 0], vec![0, 2, 2], vec![1, 0, 1]]).unwrap()
    }

    #[test]
    fn hand_computed_metrics() {
        let m = example();
        assert_eq!(m.total(), 10);
        assert_eq!(m.correct(), 6);
        assert!((m.accuracy() - 0.6).abs() < 1e-12);
        let per = m.per_class();
        // class 0: P = 3/4, R = 3/4, F1 = 3/4
        assert!((per[0].precision - 0.75).abs() < 1e-12);
        assert!((per[0].recall - 0.75).abs() < 1e-12);
        assert!((per[0].f1 - 0.75).abs() < 1e-12);
        // class 1: P = 2/3, R = 2/4, F1 = 2·(2/3·1/2)/(2/3+1/2) = 4/7
        assert!((per[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((per[1].recall - 0.5).abs() < 1e-12);
        assert!((per[1].f1 - 4.0 / 7.0).abs() < 1e-12);
        // class 2: P = 1/3, R = 1/2, F1 = 2/5
        assert!((per[2].f1 - 0.4).abs() < 1e-12);
        assert_eq!(per.iter().map(|c| c.support).collect::<Vec<_>>(), [4, 4, 2]);
        assert!((m.macro_f1() - (0.75 + 4.0 / 7.0 + 0.4) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn absent_classes_do_not_count_in_macro_f1_and_never_divide_by_zero() {
        let m = ConfusionMatrix::from_rows(vec![vec![2, 0], vec![0, 0]]).unwrap();
        assert_eq!(m.macro_f1(), 1.0);
        let empty = ConfusionMatrix::new(7);
        assert_eq!(empty.accuracy(), 0.0);
        assert_eq!(empty.macro_f1(), 0.0);
        assert!(ConfusionMatrix::from_rows(vec![vec![1, 2]]).is_none());
        let mut m = ConfusionMatrix::new(2);
        assert!(!m.add(2, 0));
        assert!(m.add(1, 0));
        assert_eq!(m.rows()[1][0], 1);
    }

    #[test]
    fn regression_by_hand() {
        // p = t + [0.1, -0.1, 0.1, -0.1]
        let t = [0.0f32, 0.25, 0.5, 1.0];
        let p = [0.1f32, 0.15, 0.6, 0.9];
        let r = RegressionMetrics::new(&p, &t).unwrap();
        assert!((r.mae - 0.1).abs() < 1e-6);
        assert!((r.rmse - 0.1).abs() < 1e-6);
        // Exact Pearson from the sums (Python statistics.correlation gives 0.965393...).
        assert!((r.pearson - 0.965_393).abs() < 1e-5, "{}", r.pearson);
        let constant = RegressionMetrics::new(&[0.5; 4], &t).unwrap();
        assert_eq!(constant.pearson, 0.0);
        assert!(RegressionMetrics::new(&[], &[]).is_none());
        assert!(RegressionMetrics::new(&[0.1], &[0.1, 0.2]).is_none());
    }

    proptest! {
        #[test]
        fn metrics_stay_in_range(cells in proptest::collection::vec(0u64..50, 16)) {
            let rows: Vec<Vec<u64>> = cells.chunks(4).map(<[u64]>::to_vec).collect();
            let m = ConfusionMatrix::from_rows(rows).unwrap();
            prop_assert!((0.0..=1.0).contains(&m.accuracy()));
            prop_assert!((0.0..=1.0).contains(&m.macro_f1()));
            for c in m.per_class() {
                prop_assert!((0.0..=1.0).contains(&c.f1));
                prop_assert!(c.f1 <= c.precision.max(c.recall) + 1e-12);
            }
            let supports: u64 = m.per_class().iter().map(|c| c.support).sum();
            prop_assert_eq!(supports, m.total());
        }

        #[test]
        fn pearson_is_one_for_affine_maps(xs in proptest::collection::vec(0f32..1.0, 3..40), a in 0.1f32..3.0, b in -1f32..1.0) {
            let ys: Vec<f32> = xs.iter().map(|x| a * x + b).collect();
            let r = RegressionMetrics::new(&ys, &xs).unwrap();
            let spread = xs.iter().cloned().fold(f32::MIN, f32::max) - xs.iter().cloned().fold(f32::MAX, f32::min);
            prop_assume!(spread > 1e-2);
            prop_assert!((r.pearson - 1.0).abs() < 1e-4, "{}", r.pearson);
        }
    }
}
