//! The training objective chosen by the configuration: distance, miner and loss.

use burn::prelude::*;
use siamese_triplet::Band;
use siamese_triplet::distances::{CosineSimilarity, Distance, Euclidean, SquaredEuclidean};
use siamese_triplet::losses::{
    BandTripletLoss, BatchAllTripletLoss, CircleLoss, ContrastiveLoss, MultiSimilarityLoss,
    TripletMarginLoss,
};
use siamese_triplet::miners::{
    BatchEasyHardMiner, BatchHardMiner, Miner, SemiHardMiner, TfaSemiHardMiner, TripletMarginMiner,
    TripletType,
};
use siamese_triplet::reducers::Reducer;

use crate::config::{DistanceKind, LossKind, MinerKind, TrainConfig};

/// The loss of one batch.
pub struct ObjectiveOutput {
    /// The reduced loss `[1]`.
    pub loss: Tensor<1>,
    /// Triplets the miner returned (triplet loss with a listing miner).
    pub mined_triplets: Option<usize>,
}

/// Distance + miner + loss, as configured.
pub struct Objective {
    loss: LossKind,
    miner: MinerKind,
    margin: f64,
    soft: bool,
    distance: Box<dyn Distance + Send + Sync>,
}

/// The configured distance.
pub fn distance(kind: DistanceKind) -> Box<dyn Distance + Send + Sync> {
    match kind {
        DistanceKind::Euclidean => Box::new(Euclidean::new()),
        DistanceKind::SquaredEuclidean => Box::new(SquaredEuclidean::new()),
        DistanceKind::Cosine => Box::new(CosineSimilarity),
    }
}

impl Objective {
    /// The objective of `config`.
    pub fn new(config: &TrainConfig) -> Self {
        Self {
            loss: config.loss,
            miner: config.miner,
            margin: config.margin,
            soft: config.soft_margin,
            distance: distance(config.distance),
        }
    }

    /// The distance the loss measures with.
    pub fn distance(&self) -> &(dyn Distance + Send + Sync) {
        self.distance.as_ref()
    }

    /// The band of the configured miner, when it keeps every triplet of a band.
    fn band(&self) -> Option<Band> {
        let distance = &self.distance;
        match self.miner {
            MinerKind::SemiHard => Some(SemiHardMiner::new(self.margin, distance).band()),
            MinerKind::SemiHardPml => {
                Some(TripletMarginMiner::new(self.margin, TripletType::SemiHard, distance).band())
            }
            MinerKind::Hard => {
                Some(TripletMarginMiner::new(self.margin, TripletType::Hard, distance).band())
            }
            MinerKind::BatchHard
            | MinerKind::BatchAll
            | MinerKind::SemiHardTfa
            | MinerKind::EasyHard => None,
        }
    }

    /// embeddings `[batch, dim]`, labels `[batch]` -> the loss.
    pub fn compute(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> ObjectiveOutput {
        let distance = &self.distance;
        let plain = |loss| ObjectiveOutput {
            loss,
            mined_triplets: None,
        };
        match self.loss {
            LossKind::Contrastive => plain(
                ContrastiveLoss::new(distance)
                    .with_margins(0.0, self.margin)
                    .forward(embeddings, labels),
            ),
            LossKind::Circle => plain(CircleLoss::default().forward(embeddings, labels)),
            LossKind::MultiSimilarity => {
                plain(MultiSimilarityLoss::default().forward(embeddings, labels))
            }
            LossKind::Triplet if self.miner == MinerKind::BatchAll && !self.soft => {
                plain(BatchAllTripletLoss::new(self.margin, distance).forward(embeddings, labels))
            }
            LossKind::Triplet => {
                // Band miners with a margin loss: the same value and gradient, summed over
                // the band without listing its triplets (O(B²) memory).
                if let (false, Some(band)) = (self.soft, self.band()) {
                    let output = BandTripletLoss::new(self.margin, band, distance)
                        .forward_with_counts(embeddings, labels);
                    return ObjectiveOutput {
                        loss: output.loss,
                        mined_triplets: Some(output.num_triplets),
                    };
                }
                let (miner, reducer): (Box<dyn Miner + '_>, Reducer) = match self.miner {
                    MinerKind::BatchHard => {
                        (Box::new(BatchHardMiner::new(distance)), Reducer::Mean)
                    }
                    MinerKind::BatchAll => (
                        Box::new(siamese_triplet::miners::BatchAllMiner::new(distance)),
                        Reducer::Mean,
                    ),
                    MinerKind::SemiHard => (
                        Box::new(SemiHardMiner::new(self.margin, distance)),
                        Reducer::AvgNonZero,
                    ),
                    MinerKind::SemiHardPml => (
                        Box::new(TripletMarginMiner::new(
                            self.margin,
                            TripletType::SemiHard,
                            distance,
                        )),
                        Reducer::AvgNonZero,
                    ),
                    MinerKind::SemiHardTfa => {
                        (Box::new(TfaSemiHardMiner::new(distance)), Reducer::Mean)
                    }
                    MinerKind::EasyHard => {
                        (Box::new(BatchEasyHardMiner::new(distance)), Reducer::Mean)
                    }
                    MinerKind::Hard => (
                        Box::new(TripletMarginMiner::new(
                            self.margin,
                            TripletType::Hard,
                            distance,
                        )),
                        Reducer::AvgNonZero,
                    ),
                };
                let triplets = miner.mine(embeddings.clone(), labels);
                let loss = TripletMarginLoss::new(self.margin, distance)
                    .with_soft(self.soft)
                    .with_reducer(reducer)
                    .forward(embeddings, &triplets);
                ObjectiveOutput {
                    loss,
                    mined_triplets: Some(triplets.len()),
                }
            }
        }
    }
}
