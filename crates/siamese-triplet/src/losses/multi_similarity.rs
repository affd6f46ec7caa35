use burn::prelude::*;

use super::logsumexp::masked_logsumexp;
use crate::LabelMasks;
use crate::distances::{CosineSimilarity, Distance};
use crate::reducers::Reducer;

/// Multi-similarity loss (Wang et al. 2019) as PML's `MultiSimilarityLoss(alpha, beta,
/// base)`, on cosine similarity, without the paper's pair-mining step (PML's separate
/// `MultiSimilarityMiner`).
///
/// Per anchor `i`:
///
/// `L_i = 1/α · log(1 + Σ_p exp(α (base - s_ip))) + 1/β · log(1 + Σ_n exp(β (s_in - base)))`
///
/// An empty sum contributes 0. The loss is the mean over **all** anchors (PML's
/// `MeanReducer`), so a batch with one class still has its positive part. Defaults:
/// PML's `α = 2`, `β = 50`, `base = 0.5`.
#[derive(Debug, Clone)]
pub struct MultiSimilarityLoss {
    /// Positive scale `α`.
    pub alpha: f64,
    /// Negative scale `β`.
    pub beta: f64,
    /// Similarity offset `base`.
    pub base: f64,
}

impl Default for MultiSimilarityLoss {
    fn default() -> Self {
        Self {
            alpha: 2.0,
            beta: 50.0,
            base: 0.5,
        }
    }
}

impl MultiSimilarityLoss {
    /// Multi-similarity loss with the given scales and offset.
    pub fn new(alpha: f64, beta: f64, base: f64) -> Self {
        Self { alpha, beta, base }
    }

    /// embeddings `[batch, dim]`, labels `[batch]` -> loss `[1]`.
    pub fn forward(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        let masks = LabelMasks::new(labels);
        let [batch, _] = embeddings.dims();
        let similarity = CosineSimilarity.pairwise(embeddings); // [batch, batch]
        let positive_logits = similarity
            .clone()
            .neg()
            .add_scalar(self.base)
            .mul_scalar(self.alpha);
        let negative_logits = similarity.sub_scalar(self.base).mul_scalar(self.beta);
        let per_anchor = masked_logsumexp(positive_logits, masks.positive, true)
            .div_scalar(self.alpha)
            .add(masked_logsumexp(negative_logits, masks.negative, true).div_scalar(self.beta)); // [batch]
        let every_anchor = Tensor::<1, Bool>::full([batch], true, &per_anchor.device());
        Reducer::Mean.reduce(per_anchor, every_anchor)
    }
}
