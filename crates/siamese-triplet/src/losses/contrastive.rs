use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::LabelMasks;
use crate::distances::Distance;
use crate::reducers::Reducer;

/// Contrastive loss (Hadsell, Chopra & LeCun 2006) as PML's `ContrastiveLoss`.
///
/// For a distance: positive pairs cost `relu(d - pos_margin)`, negative pairs
/// `relu(neg_margin - d)`; for a similarity the inequalities flip
/// (`relu(pos_margin - s)`, `relu(s - neg_margin)`). The two sub-losses are reduced
/// **separately** and then summed, as PML does; with the default [`Reducer::AvgNonZero`] a
/// positive pair at exactly zero distance is left out of the positive mean. Pairs are
/// ordered, so each unordered pair counts twice, as in PML. Defaults: PML's
/// `pos_margin = 0`, `neg_margin = 1`.
#[derive(Debug, Clone)]
pub struct ContrastiveLoss<D: Distance> {
    /// Positive pairs closer than this cost nothing.
    pub pos_margin: f64,
    /// Negative pairs farther than this cost nothing.
    pub neg_margin: f64,
    /// Distance the loss measures with.
    pub distance: D,
    /// How each sub-loss is reduced.
    pub reducer: Reducer,
}

/// The two sub-losses of [`ContrastiveLoss`], each `[1]`.
#[derive(Debug, Clone)]
pub struct ContrastiveParts {
    /// Reduced positive-pair loss.
    pub positive: Tensor<1>,
    /// Reduced negative-pair loss.
    pub negative: Tensor<1>,
}

impl<D: Distance> ContrastiveLoss<D> {
    /// PML's defaults: `pos_margin = 0`, `neg_margin = 1`, [`Reducer::AvgNonZero`].
    pub fn new(distance: D) -> Self {
        Self {
            pos_margin: 0.0,
            neg_margin: 1.0,
            distance,
            reducer: Reducer::AvgNonZero,
        }
    }

    /// Sets both margins.
    pub fn with_margins(mut self, pos_margin: f64, neg_margin: f64) -> Self {
        self.pos_margin = pos_margin;
        self.neg_margin = neg_margin;
        self
    }

    /// Replaces the reducer.
    pub fn with_reducer(mut self, reducer: Reducer) -> Self {
        self.reducer = reducer;
        self
    }

    /// embeddings `[batch, dim]`, labels `[batch]` -> loss `[1]`.
    pub fn forward(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        let parts = self.forward_parts(embeddings, labels);
        parts.positive.add(parts.negative)
    }

    /// embeddings `[batch, dim]`, labels `[batch]` -> the two reduced sub-losses.
    pub fn forward_parts(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> ContrastiveParts {
        let masks = LabelMasks::new(labels);
        let values = self.distance.pairwise(embeddings); // [batch, batch]
        let (positive_terms, negative_terms) = if self.distance.smaller_is_closer() {
            (
                relu(values.clone().sub_scalar(self.pos_margin)),
                relu(values.neg().add_scalar(self.neg_margin)),
            )
        } else {
            (
                relu(values.clone().neg().add_scalar(self.pos_margin)),
                relu(values.sub_scalar(self.neg_margin)),
            )
        };
        ContrastiveParts {
            positive: self.reducer.reduce(positive_terms, masks.positive),
            negative: self.reducer.reduce(negative_terms, masks.negative),
        }
    }
}
