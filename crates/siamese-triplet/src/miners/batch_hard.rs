use burn::prelude::*;

use super::{Miner, valid_rows};
use crate::distances::Distance;
use crate::{LabelMasks, Triplets};

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
        let masks = LabelMasks::new(labels);
        let dissimilarity = self.distance.dissimilarity(embeddings.detach()); // [batch, batch]
        let hardest_positive = dissimilarity
            .clone()
            .mask_fill(masks.positive.clone().bool_not(), f32::NEG_INFINITY)
            .argmax(1)
            .squeeze_dim::<1>(1); // [batch]
        let hardest_negative = dissimilarity
            .mask_fill(masks.negative.clone().bool_not(), f32::INFINITY)
            .argmin(1)
            .squeeze_dim::<1>(1); // [batch]
        let Some(anchors) = valid_rows(masks.anchors_with_triplets()) else {
            return Triplets::empty();
        };
        Triplets::new(
            anchors.clone(),
            hardest_positive.select(0, anchors.clone()),
            hardest_negative.select(0, anchors),
        )
    }
}
