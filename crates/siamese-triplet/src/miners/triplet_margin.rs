use burn::prelude::*;

use super::Miner;
use super::negative_bands::band_triplets;
use crate::Triplets;
use crate::band::{Band, Lower, Upper};
use crate::distances::Distance;

/// Which triplets PML's `TripletMarginMiner` keeps, with `tm = d_an - d_ap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripletType {
    /// `tm <= m`: every triplet inside or on the margin (not every triplet).
    All,
    /// `tm <= m` and `tm <= 0`, i.e. `d_an <= d_ap`, ties included.
    Hard,
    /// `0 < tm <= m`: the upper bound is inclusive, unlike FaceNet's.
    SemiHard,
    /// `tm > m`.
    Easy,
}

/// PML's `TripletMarginMiner(margin, type_of_triplets)` with PML's exact boundaries.
///
/// `All = Hard + SemiHard` and `All + Easy` = every triplet. PML's default margin is 0.2
/// and its default distance is [`Euclidean::normalized()`](crate::distances::Euclidean::normalized).
/// The `m` threshold is compared as `d_an <= d_ap + m`, which agrees with PML's
/// `d_an - d_ap <= m` except within one float rounding of the boundary; the `0`
/// threshold is compared exactly (`d_an <= d_ap`).
#[derive(Debug, Clone)]
pub struct TripletMarginMiner<D: Distance> {
    /// Margin `m`.
    pub margin: f64,
    /// Which triplets to keep.
    pub triplet_type: TripletType,
    /// Distance the miner measures with.
    pub distance: D,
}

impl<D: Distance> TripletMarginMiner<D> {
    /// PML `TripletMarginMiner(margin, type_of_triplets)` under `distance`.
    pub fn new(margin: f64, triplet_type: TripletType, distance: D) -> Self {
        Self {
            margin,
            triplet_type,
            distance,
        }
    }

    /// The triplets this miner returns, as a band of `d_an` around `d_ap`. With
    /// [`BandTripletLoss`](crate::losses::BandTripletLoss) it gives this miner's loss
    /// without listing them.
    pub fn band(&self) -> Band {
        let margin = self.margin;
        let (lower, upper) = match self.triplet_type {
            TripletType::All => (Lower::Unbounded, Upper::AtMost(margin)),
            TripletType::Hard => (Lower::Unbounded, Upper::AtMost(margin.min(0.0))),
            TripletType::SemiHard => (Lower::Above(0.0), Upper::AtMost(margin)),
            TripletType::Easy => (Lower::Above(margin), Upper::Unbounded),
        };
        Band::new(lower, upper)
    }
}

impl<D: Distance> Miner for TripletMarginMiner<D> {
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets {
        let dissimilarity = self.distance.dissimilarity(embeddings.detach());
        band_triplets(dissimilarity, labels, self.band())
    }
}
