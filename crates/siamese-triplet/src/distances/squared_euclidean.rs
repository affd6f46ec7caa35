use burn::prelude::*;

use super::{Distance, exact, maybe_normalize, paired_squared_differences};

/// Squared euclidean distance, PML's `LpDistance(p=2, power=2)`.
///
/// Values come from explicit differences (identical rows give identical values).
/// With `normalize`, it equals `2 · cosine distance`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SquaredEuclidean {
    /// L2-normalise rows before measuring.
    pub normalize: bool,
}

impl SquaredEuclidean {
    /// Raw squared euclidean distance.
    pub fn new() -> Self {
        Self { normalize: false }
    }

    /// Squared euclidean distance between L2-normalised rows.
    pub fn normalized() -> Self {
        Self { normalize: true }
    }
}

impl Distance for SquaredEuclidean {
    fn matrix(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        let query = maybe_normalize(self.normalize, query);
        let reference = maybe_normalize(self.normalize, reference);
        exact::squared_euclidean(query, reference, false)
    }

    fn pairwise(&self, embeddings: Tensor<2>) -> Tensor<2> {
        let embeddings = maybe_normalize(self.normalize, embeddings);
        exact::squared_euclidean(embeddings.clone(), embeddings, true)
    }

    fn paired(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
        let left = maybe_normalize(self.normalize, left);
        let right = maybe_normalize(self.normalize, right);
        paired_squared_differences(left, right)
    }

    fn smaller_is_closer(&self) -> bool {
        true
    }
}
