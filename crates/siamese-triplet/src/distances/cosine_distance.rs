use burn::prelude::*;

use super::{CosineSimilarity, Distance};

/// Cosine distance, `1 - cosine similarity`: a distance in `[0, 2]`, smaller is closer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CosineDistance;

impl Distance for CosineDistance {
    fn matrix(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        CosineSimilarity
            .matrix(query, reference)
            .neg()
            .add_scalar(1.0)
    }

    fn paired(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
        CosineSimilarity.paired(left, right).neg().add_scalar(1.0)
    }

    fn smaller_is_closer(&self) -> bool {
        true
    }
}
