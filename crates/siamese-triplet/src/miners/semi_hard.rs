use burn::prelude::*;

use super::Miner;
use super::negative_bands::band_triplets;
use crate::Triplets;
use crate::band::{Band, Lower, Upper};
use crate::distances::Distance;

/// FaceNet's semi-hard triplets (Schroff, Kalenichenko & Philbin 2015): every `(a, p, n)`
/// with `d_ap < d_an < d_ap + m`, both bounds strict.
///
/// PML's `TripletMarginMiner(type_of_triplets="semihard")` differs at the upper boundary
/// (`d_an - d_ap <= m`, inclusive): use [`TripletMarginMiner`](super::TripletMarginMiner)
/// with [`TripletType::SemiHard`](super::TripletType::SemiHard) for that. TF-Addons'
/// `triplet_semihard_loss` picks one negative per positive pair and falls back to the
/// farthest negative: that is [`TfaSemiHardMiner`](super::TfaSemiHardMiner).
#[derive(Debug, Clone)]
pub struct SemiHardMiner<D: Distance> {
    /// Width `m` of the band above `d_ap`.
    pub margin: f64,
    /// Distance used to place negatives in the band.
    pub distance: D,
}

impl<D: Distance> SemiHardMiner<D> {
    /// FaceNet semi-hard mining with margin `m`.
    pub fn new(margin: f64, distance: D) -> Self {
        Self { margin, distance }
    }

    /// The triplets this miner returns: `Above(0)` to `Below(m)`. With
    /// [`BandTripletLoss`](crate::losses::BandTripletLoss) it gives this miner's loss
    /// without listing them.
    pub fn band(&self) -> Band {
        Band::new(Lower::Above(0.0), Upper::Below(self.margin))
    }
}

impl<D: Distance> Miner for SemiHardMiner<D> {
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets {
        let dissimilarity = self.distance.dissimilarity(embeddings.detach());
        band_triplets(dissimilarity, labels, self.band())
    }
}
