//! How hard the triplets of a batch are, counted in `O(B²)` memory.

use burn::prelude::*;

use crate::LabelMasks;
use crate::distances::Distance;
use crate::host::scalar_count;
use crate::threshold_counts::negatives_below;

/// Triplets of a batch by FaceNet's definitions, with `m` the margin:
/// easy `d_an > d_ap + m`, semi-hard `d_ap < d_an < d_ap + m`, hard `d_an < d_ap`.
///
/// Triplets exactly on a boundary (`d_an == d_ap` or `d_an == d_ap + m`) belong to none of
/// the three and are counted in `boundary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TripletClasses {
    /// `d_an > d_ap + m`: zero loss, nothing to learn.
    pub easy: usize,
    /// `d_ap < d_an < d_ap + m`: inside the margin.
    pub semi_hard: usize,
    /// `d_an < d_ap`: the negative is closer than the positive.
    pub hard: usize,
    /// Exactly on `d_an == d_ap` or `d_an == d_ap + m`.
    pub boundary: usize,
    /// Every valid triplet.
    pub total: usize,
}

impl TripletClasses {
    /// embeddings `[batch, dim]`, labels `[batch]` -> counts, under `distance` and margin `m`.
    pub fn count<D: Distance>(
        distance: &D,
        margin: f64,
        embeddings: Tensor<2>,
        labels: Tensor<1, Int>,
    ) -> Self {
        let masks = LabelMasks::new(labels);
        let dissimilarity = distance.dissimilarity(embeddings.detach());
        Self::from_dissimilarity(dissimilarity, &masks, margin)
    }

    /// dissimilarity `[batch, batch]` (smaller is closer), masks -> counts.
    pub fn from_dissimilarity(dissimilarity: Tensor<2>, masks: &LabelMasks, margin: f64) -> Self {
        let at_positive = masks.positive.clone();
        let sum = |counts: Tensor<2, Int>| {
            scalar_count(counts.mask_fill(at_positive.clone().bool_not(), 0).sum())
        };
        let below_positive = negatives_below(dissimilarity.clone(), masks, 0.0);
        let below_margin = negatives_below(dissimilarity, masks, margin);
        let total = masks.num_triplets();
        let hard = sum(below_positive.less.clone());
        let semi_hard = sum(below_margin
            .less
            .sub(below_positive.less_or_equal)
            .clamp_min(0));
        let easy = total - sum(below_margin.less_or_equal);
        Self {
            easy,
            semi_hard,
            hard,
            boundary: total - easy - semi_hard - hard,
            total,
        }
    }

    /// `count / total`, or 0 without triplets.
    pub fn fraction(&self, count: usize) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            count as f64 / self.total as f64
        }
    }
}

/// The counts PML's `TripletMarginMiner` would return for each `type_of_triplets`, with
/// `tm = d_an - d_ap`: `all` `tm <= m`, `hard` `tm <= min(m, 0)`, `semihard` `0 < tm <= m`,
/// `easy` `tm > m` (see [`TripletType`](crate::miners::TripletType)). Computed without
/// listing the triplets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PmlTripletCounts {
    /// `tm <= m`.
    pub all: usize,
    /// `tm <= min(m, 0)`, ties `d_an == d_ap` included.
    pub hard: usize,
    /// `0 < tm <= m`.
    pub semihard: usize,
    /// `tm > m`.
    pub easy: usize,
    /// `tm == 0` exactly (`d_an == d_ap`), which PML counts as hard.
    pub exactly_zero_margin: usize,
    /// Every valid triplet.
    pub total: usize,
}

impl PmlTripletCounts {
    /// embeddings `[batch, dim]`, labels `[batch]` -> counts, under `distance` and margin `m`.
    pub fn count<D: Distance>(
        distance: &D,
        margin: f64,
        embeddings: Tensor<2>,
        labels: Tensor<1, Int>,
    ) -> Self {
        let masks = LabelMasks::new(labels);
        let dissimilarity = distance.dissimilarity(embeddings.detach());
        let at_positive = masks.positive.clone();
        let sum = |counts: Tensor<2, Int>| {
            scalar_count(counts.mask_fill(at_positive.clone().bool_not(), 0).sum())
        };
        let below_positive = negatives_below(dissimilarity.clone(), &masks, 0.0);
        let up_to_zero = sum(below_positive.less_or_equal);
        let below_zero = sum(below_positive.less);
        let up_to_hard =
            sum(negatives_below(dissimilarity.clone(), &masks, margin.min(0.0)).less_or_equal);
        let all = sum(negatives_below(dissimilarity, &masks, margin).less_or_equal);
        let total = masks.num_triplets();
        Self {
            all,
            hard: up_to_hard,
            semihard: all.saturating_sub(up_to_zero),
            easy: total - all,
            exactly_zero_margin: up_to_zero - below_zero,
            total,
        }
    }
}
