use burn::prelude::*;

use super::{BandOutput, BandTripletLoss};
use crate::band::Band;
use crate::distances::Distance;
use crate::reducers::Reducer;

/// Batch-all triplet loss: `relu(d_ap - d_an + m)` over **every** valid triplet, in
/// `O(B²)` memory.
///
/// The triplets are never listed: this is [`BandTripletLoss`] over [`Band::every`], where
/// the method is described. Reducers: [`Reducer::Mean`] divides by the number of valid
/// triplets (zero terms included); [`Reducer::AvgNonZero`] by the number of active ones,
/// which is PML's `TripletMarginLoss` with its default all-triplets miner; [`Reducer::Sum`]
/// does not divide. Soft margins do not decompose this way: use
/// [`BatchAllMiner`](crate::miners::BatchAllMiner) with a soft
/// [`TripletMarginLoss`](super::TripletMarginLoss) for those.
#[derive(Debug, Clone)]
pub struct BatchAllTripletLoss<D: Distance> {
    /// Margin `m`.
    pub margin: f64,
    /// Distance the loss measures with.
    pub distance: D,
    /// How the triplet terms are reduced.
    pub reducer: Reducer,
}

impl<D: Distance> BatchAllTripletLoss<D> {
    /// Batch-all with `margin`, averaged over the active triplets (PML's default reducer).
    pub fn new(margin: f64, distance: D) -> Self {
        Self {
            margin,
            distance,
            reducer: Reducer::AvgNonZero,
        }
    }

    /// Replaces the reducer.
    pub fn with_reducer(mut self, reducer: Reducer) -> Self {
        self.reducer = reducer;
        self
    }

    /// embeddings `[batch, dim]`, labels `[batch]` -> loss `[1]`.
    pub fn forward(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        self.forward_with_counts(embeddings, labels).loss
    }

    /// embeddings `[batch, dim]`, labels `[batch]` -> loss `[1]` with triplet counts
    /// (`num_triplets`: every valid triplet; `num_active`: those with `d_an < d_ap + m`).
    pub fn forward_with_counts(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> BandOutput {
        BandTripletLoss::new(self.margin, Band::every(), &self.distance)
            .with_reducer(self.reducer)
            .forward_with_counts(embeddings, labels)
    }
}
