use burn::prelude::*;

use super::{Miner, valid_rows};
use crate::Triplets;
use crate::distances::Distance;
use crate::masks::same_label;

/// Batch-hard mining (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss"):
/// for each anchor its farthest positive and its nearest negative.
///
/// Anchors that lack a positive or a negative are dropped (Hermans' valid-anchor mean),
/// unlike TF-Addons' `triplet_hard_loss`, which keeps them with fallback values. With
/// [`Euclidean::new()`](crate::distances::Euclidean::new) and
/// [`TripletMarginLoss`](crate::losses::TripletMarginLoss) with [`Reducer::Mean`](crate::reducers::Reducer::Mean)
/// this equals PML `BatchHardMiner` + `TripletMarginLoss(reducer=MeanReducer())` on
/// `LpDistance(normalize_embeddings=False)`. `O(B²)`.
#[derive(Debug, Clone, Default)]
pub struct BatchHardMiner<D: Distance> {
    /// Distance used to rank positives and negatives.
    pub distance: D,
}

impl<D: Distance> BatchHardMiner<D> {
    /// Batch-hard mining under `distance`.
    pub fn new(distance: D) -> Self {
        Self { distance }
    }
}

impl<D: Distance> Miner for BatchHardMiner<D> {
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets {
        let [batch] = labels.dims();
        let shape = [batch, batch];
        let device = labels.device();
        let same = same_label(labels); // [batch, batch]
        // Not a positive: another label, or the anchor itself (same XOR off-diagonal).
        let off_diagonal = Tensor::<2, Bool>::diag_mask(shape, 0, &device);
        let not_positive = same.clone().not_equal(off_diagonal); // [batch, batch]
        let dissimilarity = self.distance.dissimilarity(embeddings.detach()); // [batch, batch]
        let (farthest, hardest_positive) = dissimilarity
            .clone()
            .mask_fill(not_positive, f32::NEG_INFINITY)
            .max_dim_with_indices(1); // [batch, 1]
        let (nearest, hardest_negative) = dissimilarity
            .mask_fill(same, f32::INFINITY)
            .min_dim_with_indices(1); // [batch, 1]
        // An anchor without a positive (or negative) keeps the fill value: it is dropped.
        let valid = farthest
            .greater_elem(f32::NEG_INFINITY)
            .bool_and(nearest.lower_elem(f32::INFINITY))
            .squeeze_dim::<1>(1); // [batch]
        let Some(anchors) = valid_rows(valid) else {
            return Triplets::empty();
        };
        Triplets::new(
            anchors.clone(),
            hardest_positive
                .squeeze_dim::<1>(1)
                .select(0, anchors.clone()),
            hardest_negative.squeeze_dim::<1>(1).select(0, anchors),
        )
    }
}
