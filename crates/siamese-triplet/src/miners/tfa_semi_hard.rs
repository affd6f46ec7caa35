use burn::prelude::*;

use super::Miner;
use super::negative_bands::negatives_by_distance;
use crate::distances::Distance;
use crate::threshold_counts::negatives_below;
use crate::{LabelMasks, Triplets};

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
/// Unlike FaceNet's band, there is no upper bound `d_ap + m`. `O(B²)`.
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
        let masks = LabelMasks::new(labels);
        let batch = masks.batch_size();
        let dissimilarity = self.distance.dissimilarity(embeddings.detach()); // [batch, batch]

        let pairs = masks.positive.clone().argwhere(); // [pairs, 2]
        let [num_pairs, _] = pairs.dims();
        if num_pairs == 0 {
            return Triplets::empty();
        }
        let anchors = pairs
            .clone()
            .slice([0..num_pairs, 0..1])
            .reshape([num_pairs]);
        let positives = pairs.slice([0..num_pairs, 1..2]).reshape([num_pairs]);
        let flat_pairs = anchors
            .clone()
            .mul_scalar(batch as i64)
            .add(positives.clone());

        // Rank of the nearest negative beyond d_ap = #{n : d_an <= d_ap}; past the last
        // negative it falls back to the last (farthest) one.
        let not_beyond = negatives_below(dissimilarity.clone(), &masks, 0.0).less_or_equal;
        let negatives_of_anchor = masks.negatives_per_anchor().select(0, anchors.clone()); // [pairs]
        let rank = not_beyond
            .reshape([batch * batch])
            .select(0, flat_pairs)
            .min_pair(negatives_of_anchor.clone().sub_scalar(1))
            .clamp_min(0); // [pairs]
        let chosen = negatives_by_distance(dissimilarity, &masks)
            .reshape([batch * batch])
            .select(0, anchors.clone().mul_scalar(batch as i64).add(rank));
        let no_negative = negatives_of_anchor.equal_elem(0);
        let negatives = chosen.mask_where(no_negative, anchors.clone());
        Triplets::new(anchors, positives, negatives)
    }
}
