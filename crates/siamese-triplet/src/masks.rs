//! Pair masks from labels.
//!
//! Pairs are ordered: `(a, p)` is a positive pair when `a != p` and the labels match,
//! `(a, n)` is a negative pair when the labels differ. A triplet `(a, p, n)` is a positive
//! pair and a negative pair sharing the anchor `a`. Triplets are counted from the pair
//! masks (`Σ_a |P(a)| · |N(a)|`); only [`LabelMasks::triplet_mask`] builds the `[B, B, B]`
//! tensor, for small batches and tests.

use burn::prelude::*;

use crate::host::{count_true, scalar_count};

/// labels `[batch]` -> `[batch, batch]`: `true` where `label[i] == label[j]` (the
/// diagonal included).
pub(crate) fn same_label(labels: Tensor<1, Int>) -> Tensor<2, Bool> {
    let [batch] = labels.dims();
    let rows = labels.clone().unsqueeze_dim::<2>(1); // [batch, 1]
    rows.equal(labels.unsqueeze_dim::<2>(0).expand([batch, batch]))
}

/// Positive and negative pair masks of one batch.
#[derive(Debug, Clone)]
pub struct LabelMasks {
    /// `[batch, batch]`: `true` where `a != p` and `label[a] == label[p]`.
    pub positive: Tensor<2, Bool>,
    /// `[batch, batch]`: `true` where `label[a] != label[n]`.
    pub negative: Tensor<2, Bool>,
}

impl LabelMasks {
    /// labels `[batch]` -> masks `[batch, batch]`.
    pub fn new(labels: Tensor<1, Int>) -> Self {
        let [batch] = labels.dims();
        let device = labels.device();
        let same = same_label(labels);
        let off_diagonal = Tensor::<2, Bool>::diag_mask([batch, batch], 0, &device);
        Self {
            negative: same.clone().bool_not(),
            positive: same.bool_and(off_diagonal),
        }
    }

    /// Number of rows (anchors) in the batch.
    pub fn batch_size(&self) -> usize {
        self.positive.dims()[0]
    }

    /// `[batch]`: positives of each anchor.
    pub fn positives_per_anchor(&self) -> Tensor<1, Int> {
        self.positive.clone().int().sum_dim(1).squeeze_dim(1)
    }

    /// `[batch]`: negatives of each anchor.
    pub fn negatives_per_anchor(&self) -> Tensor<1, Int> {
        self.negative.clone().int().sum_dim(1).squeeze_dim(1)
    }

    /// `[batch]`: anchors with at least one positive and one negative.
    pub fn anchors_with_triplets(&self) -> Tensor<1, Bool> {
        self.positives_per_anchor()
            .greater_elem(0)
            .bool_and(self.negatives_per_anchor().greater_elem(0))
    }

    /// Number of ordered positive pairs.
    pub fn num_positive_pairs(&self) -> usize {
        count_true(self.positive.clone())
    }

    /// Number of ordered negative pairs.
    pub fn num_negative_pairs(&self) -> usize {
        count_true(self.negative.clone())
    }

    /// Number of valid triplets, `Σ_a |P(a)| · |N(a)|`, computed in `O(B²)`.
    pub fn num_triplets(&self) -> usize {
        let per_anchor = self.positives_per_anchor().mul(self.negatives_per_anchor());
        scalar_count(per_anchor.sum())
    }

    /// `[batch, batch, batch]`: `true` at `(a, p, n)` for every valid triplet.
    ///
    /// This is `O(B³)` memory (68 G entries at B = 4096): use it for small batches and as a
    /// reference in tests; the miners and losses never build it.
    pub fn triplet_mask(&self) -> Tensor<3, Bool> {
        let batch = self.batch_size();
        let positive = self.positive.clone().unsqueeze_dim::<3>(2); // [a, p, 1]
        let negative = self.negative.clone().unsqueeze_dim::<3>(1); // [a, 1, n]
        positive
            .expand([batch, batch, batch])
            .bool_and(negative.expand([batch, batch, batch]))
    }
}
