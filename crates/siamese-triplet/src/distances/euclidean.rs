use burn::prelude::*;

use super::{Distance, exact, maybe_normalize, paired_squared_differences};

/// Euclidean (L2) distance, PML's `LpDistance(p=2, power=1)`.
///
/// Values come from explicit differences, so identical rows give bit-identical distances
/// and a row is at exactly 0 from its copy; the gradient there is 0, never `NaN`.
/// `normalize` divides each row by `max(|x|, 1e-12)` first (PML's default is `true`;
/// ours is `false`, raw distances).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Euclidean {
    /// L2-normalise rows before measuring.
    pub normalize: bool,
}

impl Euclidean {
    /// Raw euclidean distance.
    pub fn new() -> Self {
        Self { normalize: false }
    }

    /// Euclidean distance between L2-normalised rows (PML's `LpDistance()` default).
    pub fn normalized() -> Self {
        Self { normalize: true }
    }
}

impl Distance for Euclidean {
    fn matrix(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        let query = maybe_normalize(self.normalize, query);
        let reference = maybe_normalize(self.normalize, reference);
        exact::euclidean(query, reference, false)
    }

    fn pairwise(&self, embeddings: Tensor<2>) -> Tensor<2> {
        let embeddings = maybe_normalize(self.normalize, embeddings);
        exact::euclidean(embeddings.clone(), embeddings, true)
    }

    fn paired(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
        let left = maybe_normalize(self.normalize, left);
        let right = maybe_normalize(self.normalize, right);
        exact::safe_sqrt(paired_squared_differences(left, right))
    }

    fn smaller_is_closer(&self) -> bool {
        true
    }
}
