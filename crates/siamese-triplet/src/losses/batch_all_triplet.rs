use burn::prelude::*;

use crate::LabelMasks;
use crate::distances::Distance;
use crate::reducers::Reducer;
use crate::threshold_counts::count_below;

/// Batch-all triplet loss: `relu(d_ap - d_an + m)` over **every** valid triplet, in
/// `O(B²)` memory.
///
/// The triplets are never listed. A triplet is active when `d_an < d_ap + m`; then
///
/// `Σ_active (d_ap - d_an + m) = Σ_(a,p) c_ap · (d_ap + m) - Σ_(a,n) c_an · d_an`
///
/// where `c_ap` counts the active negatives of pair `(a, p)` and `c_an` the active
/// positives of pair `(a, n)`. The counts come from one sort per row
/// (`O(B² log B)` work) and carry no gradient; value and gradient are then weighted sums of
/// the pair distances, exactly the sum over triplets. Reducers: [`Reducer::Mean`] divides
/// by the number of valid triplets (zero terms included); [`Reducer::AvgNonZero`] by the
/// number of active ones, which is PML's `TripletMarginLoss` with its default all-triplets
/// miner; [`Reducer::Sum`] does not divide. Soft margins do not decompose this way: use
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

/// Value and counts of one batch-all evaluation.
#[derive(Debug, Clone)]
pub struct BatchAllOutput {
    /// The reduced loss `[1]`.
    pub loss: Tensor<1>,
    /// Number of valid triplets.
    pub num_triplets: usize,
    /// Number of triplets with `d_an < d_ap + m` (a non-zero term).
    pub num_active: usize,
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

    /// embeddings `[batch, dim]`, labels `[batch]` -> loss `[1]` with triplet counts.
    pub fn forward_with_counts(
        &self,
        embeddings: Tensor<2>,
        labels: Tensor<1, Int>,
    ) -> BatchAllOutput {
        let masks = LabelMasks::new(labels);
        let [batch, _] = embeddings.dims();
        let dissimilarity = self.distance.dissimilarity(embeddings); // [batch, batch]
        let fixed = dissimilarity.clone().detach();
        let shifted = fixed.clone().add_scalar(self.margin); // d + m, [batch, batch]

        // c_ap = #{n : d_an < d_ap + m}
        let active_negatives = count_below(fixed.clone(), masks.negative.clone(), shifted.clone())
            .less
            .mask_fill(masks.positive.clone().bool_not(), 0); // [batch, batch]
        // c_an = #{p : d_ap + m > d_an} = |P(a)| - #{p : d_ap + m <= d_an}
        let positives = masks
            .positives_per_anchor()
            .unsqueeze_dim::<2>(1)
            .expand([batch, batch]);
        let active_positives = positives
            .sub(count_below(shifted, masks.positive.clone(), fixed).less_or_equal)
            .mask_fill(masks.negative.clone().bool_not(), 0); // [batch, batch]

        let num_active = crate::host::scalar_count(active_negatives.clone().sum());
        let num_triplets = masks.num_triplets();
        let weighted = dissimilarity
            .clone()
            .add_scalar(self.margin)
            .mul(active_negatives.float())
            .sub(dissimilarity.mul(active_positives.float()))
            .sum(); // [1]
        let divisor = match self.reducer {
            Reducer::Mean => num_triplets.max(1),
            Reducer::AvgNonZero => num_active.max(1),
            Reducer::Sum => 1,
        };
        BatchAllOutput {
            loss: weighted.div_scalar(divisor as f64),
            num_triplets,
            num_active,
        }
    }
}
