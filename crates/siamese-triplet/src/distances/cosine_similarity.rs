use burn::prelude::*;

use super::{Distance, l2_normalize};

/// Cosine similarity, PML's `CosineSimilarity()`: the dot product of L2-normalised rows.
///
/// A similarity: larger is closer, values in `[-1, 1]`. Rows are always normalised
/// (`x / max(|x|, 1e-12)`), so a zero row has similarity 0 to everything.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CosineSimilarity;

impl Distance for CosineSimilarity {
    fn matrix(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        l2_normalize(query).matmul(l2_normalize(reference).transpose())
    }

    fn paired(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
        let [n, _] = left.dims();
        l2_normalize(left)
            .mul(l2_normalize(right))
            .sum_dim(1)
            .reshape([n])
    }

    fn smaller_is_closer(&self) -> bool {
        false
    }
}
