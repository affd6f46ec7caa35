use burn::prelude::*;

use super::{Miner, valid_rows};
use crate::distances::Distance;
use crate::{LabelMasks, Triplets};

/// Which positive [`BatchEasyHardMiner`] takes for each anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositiveStrategy {
    /// The nearest positive (PML `"easy"`, its default).
    Easiest,
    /// The farthest positive (PML `"hard"`).
    Hardest,
}

/// Which negative [`BatchEasyHardMiner`] takes for each anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegativeStrategy {
    /// The nearest negative with `d_an > d_ap` of the chosen positive (PML `"semihard"`,
    /// its default). No upper bound: PML's miner has no margin.
    SemiHard,
    /// The nearest negative (PML `"hard"`).
    Hardest,
    /// The farthest negative (PML `"easy"`).
    Easiest,
}

/// PML's `BatchEasyHardMiner`: one triplet per anchor, from a positive and a negative
/// strategy. The default is PML's: easiest positive, semi-hard negative.
///
/// Anchors that lack the positive or the negative (including a semi-hard negative that
/// does not exist) are dropped. PML's `"all"` strategies and allowed distance ranges are
/// not offered. PML's default distance is [`Euclidean::normalized()`](crate::distances::Euclidean::normalized);
/// pass it explicitly for PML's defaults. `O(B²)`.
#[derive(Debug, Clone)]
pub struct BatchEasyHardMiner<D: Distance> {
    /// How the positive is chosen.
    pub positive: PositiveStrategy,
    /// How the negative is chosen.
    pub negative: NegativeStrategy,
    /// Distance the miner measures with.
    pub distance: D,
}

impl<D: Distance> BatchEasyHardMiner<D> {
    /// PML's defaults: easiest positive, semi-hard negative.
    pub fn new(distance: D) -> Self {
        Self {
            positive: PositiveStrategy::Easiest,
            negative: NegativeStrategy::SemiHard,
            distance,
        }
    }

    /// Chooses the positive and negative strategies.
    pub fn with_strategies(
        mut self,
        positive: PositiveStrategy,
        negative: NegativeStrategy,
    ) -> Self {
        self.positive = positive;
        self.negative = negative;
        self
    }
}

impl<D: Distance> Miner for BatchEasyHardMiner<D> {
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets {
        let masks = LabelMasks::new(labels);
        let dissimilarity = self.distance.dissimilarity(embeddings.detach()); // [batch, batch]
        let not_positive = masks.positive.clone().bool_not();
        let (positive_distance, positive) = match self.positive {
            PositiveStrategy::Easiest => dissimilarity
                .clone()
                .mask_fill(not_positive, f32::INFINITY)
                .min_dim_with_indices(1),
            PositiveStrategy::Hardest => dissimilarity
                .clone()
                .mask_fill(not_positive, f32::NEG_INFINITY)
                .max_dim_with_indices(1),
        }; // [batch, 1] each

        let candidates = match self.negative {
            NegativeStrategy::SemiHard => masks.negative.clone().bool_and(
                dissimilarity
                    .clone()
                    .greater(positive_distance.expand(dissimilarity.dims())),
            ),
            NegativeStrategy::Hardest | NegativeStrategy::Easiest => masks.negative.clone(),
        }; // [batch, batch]
        let negative = match self.negative {
            NegativeStrategy::Easiest => dissimilarity
                .mask_fill(candidates.clone().bool_not(), f32::NEG_INFINITY)
                .argmax(1),
            NegativeStrategy::SemiHard | NegativeStrategy::Hardest => dissimilarity
                .mask_fill(candidates.clone().bool_not(), f32::INFINITY)
                .argmin(1),
        }; // [batch, 1]

        let has_positive = masks.positives_per_anchor().greater_elem(0);
        let has_negative = candidates.any_dim(1).squeeze_dim::<1>(1);
        let Some(anchors) = valid_rows(has_positive.bool_and(has_negative)) else {
            return Triplets::empty();
        };
        Triplets::new(
            anchors.clone(),
            positive.squeeze_dim::<1>(1).select(0, anchors.clone()),
            negative.squeeze_dim::<1>(1).select(0, anchors),
        )
    }
}
