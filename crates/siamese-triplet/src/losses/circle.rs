use burn::prelude::*;
use burn::tensor::activation::{relu, softplus};

use super::logsumexp::masked_logsumexp;
use crate::LabelMasks;
use crate::distances::{CosineSimilarity, Distance};
use crate::reducers::Reducer;

/// Circle loss (Sun et al. 2020) as PML's `CircleLoss(m, gamma)`, on cosine similarity.
///
/// Per anchor `i` with positives `P(i)` and negatives `N(i)`:
///
/// `L_i = softplus( LSE_p(-γ a_p (s_ip - (1 - m))) + LSE_n(γ a_n (s_in - m)) )`,
/// `a_p = relu(1 + m - s_ip)`, `a_n = relu(s_in + m)`.
///
/// As in PML the weights `a_p`, `a_n` are **detached**: the gradient treats them as
/// constants, so it is not the derivative of the value. Anchors without a positive or a
/// negative give 0 and PML's `AvgNonZeroReducer` leaves them out: the loss is the mean
/// over anchors that have both. Defaults: PML's `m = 0.4`, `γ = 80`.
#[derive(Debug, Clone)]
pub struct CircleLoss {
    /// Relaxation margin `m`.
    pub m: f64,
    /// Scale `γ`.
    pub gamma: f64,
}

impl Default for CircleLoss {
    fn default() -> Self {
        Self {
            m: 0.4,
            gamma: 80.0,
        }
    }
}

impl CircleLoss {
    /// Circle loss with margin `m` and scale `gamma`.
    pub fn new(m: f64, gamma: f64) -> Self {
        Self { m, gamma }
    }

    /// embeddings `[batch, dim]`, labels `[batch]` -> loss `[1]`.
    pub fn forward(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        let masks = LabelMasks::new(labels);
        let similarity = CosineSimilarity.pairwise(embeddings); // [batch, batch]
        let fixed = similarity.clone().detach();
        let positive_weight = relu(fixed.clone().neg().add_scalar(1.0 + self.m));
        let negative_weight = relu(fixed.add_scalar(self.m));
        let positive_logits = similarity
            .clone()
            .sub_scalar(1.0 - self.m)
            .mul(positive_weight)
            .mul_scalar(-self.gamma);
        let negative_logits = similarity
            .sub_scalar(self.m)
            .mul(negative_weight)
            .mul_scalar(self.gamma);
        let per_anchor =
            softplus(
                masked_logsumexp(positive_logits, masks.positive.clone(), false).add(
                    masked_logsumexp(negative_logits, masks.negative.clone(), false),
                ),
                1.0,
            ); // [batch]
        Reducer::AvgNonZero.reduce(per_anchor, masks.anchors_with_triplets())
    }
}
