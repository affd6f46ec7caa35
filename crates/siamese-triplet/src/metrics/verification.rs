//! Verification — the face-verification question "same or different?" — scored by
//! dissimilarity: ROC curve and AUC, equal error rate, the best-accuracy threshold, and the
//! true-accept rate at fixed false-accept rates.
//!
//! A pair is accepted as "same" when its dissimilarity `s` is `<= t` for a threshold `t`.
//! Pairs with equal dissimilarities are accepted or rejected together, so ties never split:
//! the ROC has one point per distinct dissimilarity (plus the "accept nothing" point).

/// One point of the ROC curve: accept every pair with dissimilarity `<= threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    /// The threshold (`-inf`: accept nothing).
    pub threshold: f64,
    /// False-accept rate: different pairs accepted / different pairs.
    pub far: f64,
    /// True-accept rate: same pairs accepted / same pairs.
    pub tar: f64,
}

/// Why verification metrics cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VerificationError {
    /// The two slices differ in length.
    #[error("{scores} scores but {labels} same/different flags")]
    LengthMismatch {
        /// Number of scores.
        scores: usize,
        /// Number of flags.
        labels: usize,
    },
    /// No same pair or no different pair: rates are undefined.
    #[error("{same} same and {different} different pairs: verification needs at least one of each")]
    OneSided {
        /// Same pairs.
        same: usize,
        /// Different pairs.
        different: usize,
    },
    /// A score is NaN.
    #[error("score {index} is NaN")]
    NotANumber {
        /// Its position.
        index: usize,
    },
}

/// TAR at a fixed FAR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TarAtFar {
    /// The FAR level asked for.
    pub far: f64,
    /// The highest TAR of a threshold whose FAR is `<= far`.
    pub tar: f64,
    /// The threshold giving it.
    pub threshold: f64,
    /// `false` when there are fewer than `1 / far` different pairs: no false accept at
    /// all is then the only way to stay under the level, and the number says little.
    pub meaningful: bool,
}

/// Verification metrics of scored pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationMetrics {
    /// Same pairs.
    pub same_pairs: usize,
    /// Different pairs.
    pub different_pairs: usize,
    /// Area under the ROC curve: P(s_same < s_different) + ½ P(s_same = s_different).
    pub auc: f64,
    /// Equal error rate: where FAR = FRR (1 − TAR), interpolated between ROC points.
    pub eer: f64,
    /// The ROC threshold nearest the EER crossing.
    pub eer_threshold: f64,
    /// The highest accuracy over thresholds (same and different pairs weighted by count).
    pub best_accuracy: f64,
    /// The threshold giving it (the smallest, if several do).
    pub best_accuracy_threshold: f64,
    /// The ROC curve, from "accept nothing" (0, 0) to "accept all" (1, 1).
    pub roc: Vec<RocPoint>,
}

impl VerificationMetrics {
    /// Metrics of pairs with dissimilarity `scores` (smaller: more alike) and `same`
    /// flags (`true`: the pair shows one class).
    pub fn new(scores: &[f64], same: &[bool]) -> Result<Self, VerificationError> {
        if scores.len() != same.len() {
            return Err(VerificationError::LengthMismatch {
                scores: scores.len(),
                labels: same.len(),
            });
        }
        if let Some(index) = scores.iter().position(|score| score.is_nan()) {
            return Err(VerificationError::NotANumber { index });
        }
        let same_pairs = same.iter().filter(|&&flag| flag).count();
        let different_pairs = same.len() - same_pairs;
        if same_pairs == 0 || different_pairs == 0 {
            return Err(VerificationError::OneSided {
                same: same_pairs,
                different: different_pairs,
            });
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));

        let (positives, negatives) = (same_pairs as f64, different_pairs as f64);
        let mut roc = vec![RocPoint {
            threshold: f64::NEG_INFINITY,
            far: 0.0,
            tar: 0.0,
        }];
        let (mut accepted_same, mut accepted_different) = (0usize, 0usize);
        // AUC by Mann-Whitney: each same pair counts the different pairs scored above it,
        // and half of those tied with it.
        let mut wins = 0.0;
        let mut start = 0;
        while start < order.len() {
            let value = scores[order[start]];
            let mut end = start;
            let (mut group_same, mut group_different) = (0usize, 0usize);
            while end < order.len() && scores[order[end]] == value {
                if same[order[end]] {
                    group_same += 1;
                } else {
                    group_different += 1;
                }
                end += 1;
            }
            let different_above = different_pairs - accepted_different - group_different;
            wins += group_same as f64 * (different_above as f64 + 0.5 * group_different as f64);
            accepted_same += group_same;
            accepted_different += group_different;
            roc.push(RocPoint {
                threshold: value,
                far: accepted_different as f64 / negatives,
                tar: accepted_same as f64 / positives,
            });
            start = end;
        }
        let auc = wins / (positives * negatives);

        let (eer, eer_threshold) = equal_error_rate(&roc);
        let accuracy = |point: &RocPoint| {
            (point.tar * positives + (1.0 - point.far) * negatives) / (positives + negatives)
        };
        let best = roc.iter().fold(roc[0], |best, point| {
            if accuracy(point) > accuracy(&best) {
                *point
            } else {
                best
            }
        });
        Ok(Self {
            same_pairs,
            different_pairs,
            auc,
            eer,
            eer_threshold,
            best_accuracy: accuracy(&best),
            best_accuracy_threshold: best.threshold,
            roc,
        })
    }

    /// The highest TAR among thresholds whose FAR is at most `far`.
    pub fn tar_at_far(&self, far: f64) -> TarAtFar {
        let best =
            self.roc
                .iter()
                .filter(|point| point.far <= far)
                .fold(self.roc[0], |best, point| {
                    if point.tar > best.tar { *point } else { best }
                });
        TarAtFar {
            far,
            tar: best.tar,
            threshold: best.threshold,
            meaningful: self.different_pairs as f64 * far >= 1.0,
        }
    }

    /// FAR and TAR of the threshold `threshold` (accept `s <= threshold`).
    pub fn rates_at(&self, threshold: f64) -> RocPoint {
        let point = self
            .roc
            .iter()
            .rev()
            .find(|point| point.threshold <= threshold)
            .copied()
            .unwrap_or(self.roc[0]);
        RocPoint { threshold, ..point }
    }
}

/// EER of a ROC curve (FAR rising, TAR rising): the crossing of FAR and FRR = 1 − TAR,
/// linearly interpolated between the two ROC points around it, and the threshold of the
/// nearer one.
fn equal_error_rate(roc: &[RocPoint]) -> (f64, f64) {
    let gap = |point: &RocPoint| (1.0 - point.tar) - point.far; // FRR − FAR, falls from 1 to −1
    for window in roc.windows(2) {
        let (before, after) = (window[0], window[1]);
        let (gap_before, gap_after) = (gap(&before), gap(&after));
        if gap_after <= 0.0 {
            let fraction = if gap_before == gap_after {
                0.0
            } else {
                gap_before / (gap_before - gap_after)
            };
            let eer = before.far + fraction * (after.far - before.far);
            let threshold = if fraction <= 0.5 {
                before.threshold
            } else {
                after.threshold
            };
            return (eer, threshold);
        }
    }
    // Unreachable for a complete curve (the last point has FAR 1, FRR 0).
    let last = roc[roc.len() - 1];
    (last.far, last.threshold)
}
