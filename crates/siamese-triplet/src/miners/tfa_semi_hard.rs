use burn::prelude::*;

use rayon::prelude::*;

use super::Miner;
use crate::Triplets;
use crate::anchor_negatives::{SortedNegatives, positives_of, read_rows};
use crate::distances::Distance;

/// TF-Addons' `triplet_semihard_loss` selection (0.23.0): one triplet per positive pair.
///
/// For every positive pair `(a, p)` the negative is the nearest one with `d_an > d_ap`
/// (strict); when there is none, the farthest negative. When `a` has no negative at all,
/// TF-Addons takes the row minimum, which is `a`'s own zero diagonal: that triplet is
/// returned as `(a, p, a)`, so its `d_an` is exactly 0 with zero gradient.
///
/// Followed by [`TripletMarginLoss`](crate::losses::TripletMarginLoss) with
/// [`Reducer::Mean`](crate::reducers::Reducer::Mean) it reproduces `triplet_semihard_loss`:
/// the mean of `relu(d_ap - d_neg + m)` over **all** positive pairs, zero terms included.
/// TF-Addons' default distance is [`Euclidean`](crate::distances::Euclidean) ("L2"); the
/// old `tf.contrib` default was [`SquaredEuclidean`](crate::distances::SquaredEuclidean).
/// Unlike TF-Addons (0 / 0), a batch without positive pairs gives no triplet and loss 0.
/// Unlike FaceNet's band, there is no upper bound `d_ap + m`. `O(B²)`: the distances are
/// read back once and each anchor's negatives sorted on the host (rows in parallel).
#[derive(Debug, Clone, Default)]
pub struct TfaSemiHardMiner<D: Distance> {
    /// Distance used to pick the negative.
    pub distance: D,
}

impl<D: Distance> TfaSemiHardMiner<D> {
    /// TF-Addons semi-hard selection under `distance`.
    pub fn new(distance: D) -> Self {
        Self { distance }
    }
}

impl<D: Distance> Miner for TfaSemiHardMiner<D> {
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets {
        let device = embeddings.device();
        let dissimilarity = self.distance.dissimilarity(embeddings.detach()); // [batch, batch]
        let (dissimilarity, labels) = read_rows(dissimilarity, labels);
        let batch = labels.len();
        // Per anchor (in parallel), its positive pairs in column order with their negative.
        let rows: Vec<Vec<[i64; 3]>> = dissimilarity
            .par_chunks(batch.max(1))
            .enumerate()
            .map(|(anchor, row)| anchor_triplets(anchor, row, &labels))
            .collect();
        let triplets: Vec<[i64; 3]> = rows.into_iter().flatten().collect();
        let column = |which: usize| {
            let values: Vec<i64> = triplets.iter().map(|triplet| triplet[which]).collect();
            let len = values.len();
            Tensor::<1, Int>::from_data(TensorData::new(values, [len]), &device)
        };
        Triplets::new(column(0), column(1), column(2))
    }
}

/// `anchor`'s triplets, one per positive pair in column order: the nearest negative with
/// `d_an > d_ap`, else the farthest; `(a, p, a)` when `anchor` has no negative.
fn anchor_triplets(anchor: usize, row: &[f32], labels: &[i64]) -> Vec<[i64; 3]> {
    let negatives = SortedNegatives::new(anchor, row, labels);
    positives_of(anchor, labels)
        .map(|positive| {
            // Rank of the nearest negative beyond d_ap = #{n : d_an <= d_ap}; past the last
            // negative it falls back to the last (farthest) one.
            let d_ap = row[positive];
            let rank = negatives.values.partition_point(|&d_an| d_an <= d_ap);
            let rank = rank.min(negatives.len().saturating_sub(1));
            let negative = negatives
                .columns(rank..negatives.len())
                .next()
                .unwrap_or(anchor);
            [anchor as i64, positive as i64, negative as i64]
        })
        .collect()
}
