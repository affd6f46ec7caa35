use burn::prelude::*;

use super::Miner;
use super::negative_bands::band_triplets;
use crate::Triplets;
use crate::band::Band;
use crate::distances::Distance;

/// Every valid triplet `(a, p, n)`: `a != p` share a label, `n` has another.
///
/// There are `Σ_a |P(a)| · |N(a)|` of them (107,520 for a 16 × 8 batch); for the batch-all
/// *loss* at large batch sizes prefer [`BatchAllTripletLoss`](crate::losses::BatchAllTripletLoss),
/// which never lists them. The distance only orders the negatives of the output.
#[derive(Debug, Clone, Default)]
pub struct BatchAllMiner<D: Distance> {
    /// Distance used to list the triplets.
    pub distance: D,
}

impl<D: Distance> BatchAllMiner<D> {
    /// Every valid triplet.
    pub fn new(distance: D) -> Self {
        Self { distance }
    }
}

impl<D: Distance> Miner for BatchAllMiner<D> {
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets {
        let dissimilarity = self.distance.dissimilarity(embeddings.detach());
        band_triplets(dissimilarity, labels, Band::every())
    }
}
