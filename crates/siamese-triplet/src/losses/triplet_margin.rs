use burn::prelude::*;
use burn::tensor::activation::{relu, softplus};

use crate::Triplets;
use crate::distances::Distance;
use crate::reducers::{Reducer, zero_loss};

/// Triplet margin loss over mined triplets: `relu(d_ap - d_an + m)` per triplet, or the
/// soft-margin form `softplus(d_ap - d_an + m)`.
///
/// With a similarity (cosine similarity), `d_ap - d_an` reads `s_an - s_ap`, as in PML.
/// The defaults are PML's `TripletMarginLoss`: margin form, [`Reducer::AvgNonZero`].
/// Hermans et al.'s soft margin is [`TripletMarginLoss::soft`]: `softplus(d_ap - d_an)`,
/// margin 0, [`Reducer::Mean`]; PML's `smooth_loss=True` keeps the margin inside the
/// softplus, which [`TripletMarginLoss::with_soft`] on a margin loss gives.
#[derive(Debug, Clone)]
pub struct TripletMarginLoss<D: Distance> {
    /// Margin `m`.
    pub margin: f64,
    /// Softplus instead of relu.
    pub soft: bool,
    /// Distance the loss measures with.
    pub distance: D,
    /// How per-triplet terms are reduced.
    pub reducer: Reducer,
}

impl<D: Distance> TripletMarginLoss<D> {
    /// `relu(d_ap - d_an + margin)` reduced by [`Reducer::AvgNonZero`] (PML's defaults).
    pub fn new(margin: f64, distance: D) -> Self {
        Self {
            margin,
            soft: false,
            distance,
            reducer: Reducer::AvgNonZero,
        }
    }

    /// Hermans et al.'s soft margin: `softplus(d_ap - d_an)` reduced by [`Reducer::Mean`].
    pub fn soft(distance: D) -> Self {
        Self {
            margin: 0.0,
            soft: true,
            distance,
            reducer: Reducer::Mean,
        }
    }

    /// Replaces the reducer.
    pub fn with_reducer(mut self, reducer: Reducer) -> Self {
        self.reducer = reducer;
        self
    }

    /// Softplus (`true`) or relu (`false`) of `d_ap - d_an + m`.
    pub fn with_soft(mut self, soft: bool) -> Self {
        self.soft = soft;
        self
    }

    /// embeddings `[batch, dim]`, triplets -> loss `[1]`. No triplet gives exactly 0.
    pub fn forward(&self, embeddings: Tensor<2>, triplets: &Triplets) -> Tensor<1> {
        let Some((anchors, positives, negatives)) = triplets.indices() else {
            return zero_loss(embeddings);
        };
        let [batch, dim] = embeddings.dims();
        let (positive, negative) = if triplets.len() * dim <= batch * batch {
            // Few triplets (batch-hard mines one per anchor): the distances of the mined
            // pairs alone, `O(triplets · dim)`, and a backward pass that never touches a
            // `[batch, batch]` matrix.
            let anchor_rows = embeddings.clone().select(0, anchors.clone()); // [triplets, dim]
            let to = |others: &Tensor<1, Int>| {
                self.distance.paired_dissimilarity(
                    anchor_rows.clone(),
                    embeddings.clone().select(0, others.clone()),
                ) // [triplets]
            };
            (to(positives), to(negatives))
        } else {
            // Many triplets: read them from the `[batch, batch]` matrix.
            let dissimilarity = self
                .distance
                .dissimilarity(embeddings)
                .reshape([batch * batch]);
            let at = |rows: &Tensor<1, Int>, columns: &Tensor<1, Int>| {
                dissimilarity.clone().select(
                    0,
                    rows.clone().mul_scalar(batch as i64).add(columns.clone()),
                )
            };
            (at(anchors, positives), at(anchors, negatives))
        };
        // (d_ap + m) - d_an is > 0 exactly when d_an < d_ap + m, the comparison the miners
        // and the batch-all counts make.
        let violation = positive.add_scalar(self.margin).sub(negative); // [triplets]
        let terms = if self.soft {
            softplus(violation, 1.0)
        } else {
            relu(violation)
        };
        let exists = Tensor::<1, Bool>::full([triplets.len()], true, &terms.device());
        self.reducer.reduce(terms, exists)
    }
}
