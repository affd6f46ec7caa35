use burn::prelude::*;

use crate::anchor_negatives::read_rows;
use crate::band::Band;
use crate::band_weights::band_weights;
use crate::distances::Distance;
use crate::reducers::Reducer;

/// Triplet margin loss `relu(d_ap - d_an + m)` over **every** triplet of a [`Band`], in
/// `O(B²)` memory: the value and gradient of a band miner followed by
/// [`TripletMarginLoss`](super::TripletMarginLoss), without listing the triplets.
///
/// | band miner + `TripletMarginLoss` | the same loss in one step |
/// |---|---|
/// | [`SemiHardMiner`](crate::miners::SemiHardMiner) (FaceNet) | `BandTripletLoss::new(m, miner.band(), distance)` |
/// | [`TripletMarginMiner`](crate::miners::TripletMarginMiner) (PML) | `BandTripletLoss::new(m, miner.band(), distance)` |
/// | [`BatchAllMiner`](crate::miners::BatchAllMiner) | [`BatchAllTripletLoss`](super::BatchAllTripletLoss) |
///
/// (with the miner measuring on the loss's distance, as the trainer does). A triplet is
/// active when `d_an < d_ap + m`; then
///
/// `Σ_active (d_ap - d_an + m) = Σ_(a,p) c_ap · (d_ap + m) - Σ_(a,n) c_an · d_an`
///
/// where `c_ap` counts the band's active negatives of the positive pair `(a, p)` and `c_an`
/// the positives that make `(a, p, n)` active. The counts come from one sort of each
/// anchor's negatives on the host (`O(B² log B)` work; the `[batch, batch]` distances are
/// read back once) and carry no gradient; value and gradient are weighted sums of the pair
/// distances. Listing the same triplets costs memory in their number — 78 million at
/// B = 4096 for PML's semi-hard band, about 1.9 GB of indices — and time to gather them.
///
/// Reducers: [`Reducer::Mean`] divides by the number of triplets in the band (zero terms
/// included), [`Reducer::AvgNonZero`] by the active ones (PML's default),
/// [`Reducer::Sum`] does not divide. Soft margins do not decompose this way: list the
/// triplets with the miner and use a soft [`TripletMarginLoss`](super::TripletMarginLoss).
#[derive(Debug, Clone)]
pub struct BandTripletLoss<D: Distance> {
    /// Margin `m` of the loss.
    pub margin: f64,
    /// Which triplets the loss sums over.
    pub band: Band,
    /// Distance the band and the loss measure with.
    pub distance: D,
    /// How the triplet terms are reduced.
    pub reducer: Reducer,
}

/// Value and triplet counts of one band loss.
#[derive(Debug, Clone)]
pub struct BandOutput {
    /// The reduced loss `[1]`.
    pub loss: Tensor<1>,
    /// Number of triplets in the band.
    pub num_triplets: usize,
    /// Number of those with `d_an < d_ap + m` (a non-zero term).
    pub num_active: usize,
}

impl<D: Distance> BandTripletLoss<D> {
    /// Margin `m` over the triplets of `band`, averaged over the active ones (PML's
    /// default reducer).
    pub fn new(margin: f64, band: Band, distance: D) -> Self {
        Self {
            margin,
            band,
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
    ///
    /// # Panics
    ///
    /// When `labels` does not hold one label per embedding.
    pub fn forward_with_counts(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> BandOutput {
        let [batch, _] = embeddings.dims();
        let device = embeddings.device();
        let dissimilarity = self.distance.dissimilarity(embeddings); // [batch, batch]
        let (rows, labels) = read_rows(dissimilarity.clone().detach(), labels);
        let counts = band_weights(&rows, &labels, self.band, self.margin);
        let weights =
            Tensor::<2>::from_data(TensorData::new(counts.weights, [batch, batch]), &device);
        // Σ c_ap · d_ap - Σ c_an · d_an + m · Σ c_ap
        let weighted = dissimilarity
            .mul(weights)
            .sum()
            .add_scalar(self.margin * counts.active as f64); // [1]
        let divisor = match self.reducer {
            Reducer::Mean => counts.selected.max(1),
            Reducer::AvgNonZero => counts.active.max(1),
            Reducer::Sum => 1,
        };
        BandOutput {
            loss: weighted.div_scalar(divisor as f64),
            num_triplets: counts.selected,
            num_active: counts.active,
        }
    }
}
