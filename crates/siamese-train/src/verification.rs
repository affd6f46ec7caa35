//! Verification of a trained run: seeded balanced same/different pairs (or a pair list
//! file), their embedding dissimilarities, the metrics of
//! [`siamese_triplet::metrics::VerificationMetrics`], and the calibrated threshold stored
//! in the run directory for `siamese compare`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use siamese_triplet::metrics::VerificationMetrics;

use crate::TrainError;
use crate::rng::SplitMix64;
use crate::run_dir::{RunDir, write_atomic};

/// The file in a run directory that holds the calibrated threshold.
pub const VERIFICATION_FILE: &str = "verification.json";

/// FAR levels at which the true-accept rate is reported.
pub const FAR_LEVELS: [f64; 3] = [1e-1, 1e-2, 1e-3];

/// One pair: two items and whether they show the same class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair<T> {
    /// The first item.
    pub left: T,
    /// The second item.
    pub right: T,
    /// `true` when both show one class.
    pub same: bool,
}

/// `count` seeded pairs of distinct examples, half same-class (rounded up) and half
/// different-class, drawn uniformly over classes and then over their members. Classes with
/// one member give no same pair; fewer than two classes give no different pair (an error).
pub fn balanced_pairs(
    labels: &[usize],
    count: usize,
    seed: u64,
) -> Result<Vec<Pair<usize>>, TrainError> {
    let classes = labels.iter().copied().max().map_or(0, |max| max + 1);
    let mut members = vec![Vec::new(); classes];
    for (index, &label) in labels.iter().enumerate() {
        members[label].push(index);
    }
    let populated: Vec<&Vec<usize>> = members.iter().filter(|m| !m.is_empty()).collect();
    let pairable: Vec<&Vec<usize>> = members.iter().filter(|m| m.len() >= 2).collect();
    if populated.len() < 2 || pairable.is_empty() {
        return Err(TrainError::Config(format!(
            "verification pairs need two classes and a class with two examples; the evaluation split has {} classes, {} with two or more examples",
            populated.len(),
            pairable.len()
        )));
    }
    let mut rng = SplitMix64::new(seed);
    let mut pairs = Vec::with_capacity(count);
    for index in 0..count {
        if index % 2 == 0 {
            let class = pairable[rng.below(pairable.len())];
            let first = rng.below(class.len());
            let second = (first + 1 + rng.below(class.len() - 1)) % class.len();
            pairs.push(Pair {
                left: class[first],
                right: class[second],
                same: true,
            });
        } else {
            let first = rng.below(populated.len());
            let second = (first + 1 + rng.below(populated.len() - 1)) % populated.len();
            let (a, b) = (populated[first], populated[second]);
            pairs.push(Pair {
                left: a[rng.below(a.len())],
                right: b[rng.below(b.len())],
                same: false,
            });
        }
    }
    Ok(pairs)
}

/// Reads a pair list: one pair per line, `LEFT RIGHT FLAG` separated by whitespace or
/// commas, where the flag is `same`/`1`/`true` or `different`/`0`/`false`; empty lines and
/// lines starting with `#` are skipped. The items are returned as written (indices or
/// paths, for the caller to resolve).
pub fn read_pair_file(path: &Path) -> Result<Vec<Pair<String>>, TrainError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| TrainError::run(path, format!("cannot read the pair list: {error}")))?;
    let mut pairs = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|field| !field.is_empty())
            .collect();
        let [left, right, flag] = fields[..] else {
            return Err(TrainError::run(
                path,
                format!(
                    "line {}: {} fields, expected three: LEFT RIGHT same|different",
                    number + 1,
                    fields.len()
                ),
            ));
        };
        let same = match flag.to_ascii_lowercase().as_str() {
            "same" | "1" | "true" => true,
            "different" | "0" | "false" => false,
            other => {
                return Err(TrainError::run(
                    path,
                    format!(
                        "line {}: flag {other:?}, expected same/1/true or different/0/false",
                        number + 1
                    ),
                ));
            }
        };
        pairs.push(Pair {
            left: left.to_string(),
            right: right.to_string(),
            same,
        });
    }
    if pairs.is_empty() {
        return Err(TrainError::run(path, "no pairs in the pair list"));
    }
    Ok(pairs)
}

/// The calibrated decision threshold a run keeps for `siamese compare`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Accept "same" when the dissimilarity is at most this (the threshold at the EER).
    pub threshold: f64,
    /// The false-accept rate of that threshold on the calibration pairs.
    pub far: f64,
    /// Its true-accept rate.
    pub tar: f64,
    /// The equal error rate.
    pub eer: f64,
    /// ROC AUC.
    pub auc: f64,
    /// The threshold of best accuracy, and that accuracy.
    pub best_accuracy_threshold: f64,
    /// Best accuracy.
    pub best_accuracy: f64,
    /// What the dissimilarity is (the run's distance; cosine similarity is negated).
    pub dissimilarity: String,
    /// Pairs it was calibrated on.
    pub same_pairs: usize,
    /// Different pairs it was calibrated on.
    pub different_pairs: usize,
}

impl Calibration {
    /// The calibration of `metrics`, at the EER threshold.
    pub fn from_metrics(metrics: &VerificationMetrics, dissimilarity: &str) -> Self {
        let at = metrics.rates_at(metrics.eer_threshold);
        Self {
            threshold: metrics.eer_threshold,
            far: at.far,
            tar: at.tar,
            eer: metrics.eer,
            auc: metrics.auc,
            best_accuracy_threshold: metrics.best_accuracy_threshold,
            best_accuracy: metrics.best_accuracy,
            dissimilarity: dissimilarity.to_string(),
            same_pairs: metrics.same_pairs,
            different_pairs: metrics.different_pairs,
        }
    }

    /// Writes it into the run directory.
    pub fn save(&self, run: &RunDir) -> Result<(), TrainError> {
        let path = run.path().join(VERIFICATION_FILE);
        let json = serde_json::to_string_pretty(self)
            .map_err(|error| TrainError::run(&path, error.to_string()))?;
        write_atomic(&path, json.as_bytes())
    }

    /// Reads it from the run directory; says to run `siamese verify` when it is missing.
    pub fn load(run: &RunDir) -> Result<Self, TrainError> {
        let path = run.path().join(VERIFICATION_FILE);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            TrainError::run(
                &path,
                format!(
                    "cannot read the calibrated threshold ({error}); run `siamese verify --run {}` first",
                    run.path().display()
                ),
            )
        })?;
        serde_json::from_str(&text)
            .map_err(|error| TrainError::run(&path, format!("not a calibration file: {error}")))
    }
}

/// A multi-line report of `metrics`, the protocol first.
pub fn report(metrics: &VerificationMetrics, dissimilarity: &str) -> String {
    let mut lines = vec![
        format!(
            "verification: {} same and {} different pairs scored by {dissimilarity} (accept \"same\" when it is at most the threshold)",
            metrics.same_pairs, metrics.different_pairs
        ),
        format!("ROC AUC {:.4}", metrics.auc),
        format!(
            "equal error rate {:.4} at threshold {:.4}",
            metrics.eer, metrics.eer_threshold
        ),
        format!(
            "best accuracy {:.4} at threshold {:.4}",
            metrics.best_accuracy, metrics.best_accuracy_threshold
        ),
    ];
    for level in FAR_LEVELS {
        let at = metrics.tar_at_far(level);
        let note = if at.meaningful {
            String::new()
        } else {
            format!(
                "  (not meaningful: {} different pairs cannot measure a FAR of {level:e}; use --pairs {} or more)",
                metrics.different_pairs,
                (2.0 / level).ceil() as usize
            )
        };
        lines.push(format!(
            "TAR {:.4} at FAR {level:e} (threshold {:.4}){note}",
            at.tar, at.threshold
        ));
    }
    lines.join("\n")
}
