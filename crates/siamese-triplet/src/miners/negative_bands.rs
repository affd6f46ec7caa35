//! Enumerating every triplet whose negative falls in a band around `d_ap`, in
//! `O(B² + T)` memory for `T` triplets (never a `[B, B, B]` tensor).
//!
//! For each positive pair `(a, p)` the negatives of `a` that satisfy a band such as
//! `d_ap < d_an <= d_ap + m` are a contiguous range `[first, end)` of `a`'s negatives sorted
//! by distance; the range ends come from [`count_below`]. Triplets are then generated
//! range by range with prefix sums.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use crate::LabelMasks;
use crate::Triplets;
use crate::band::{Band, Lower, Upper};
use crate::host::scalar_count;
use crate::threshold_counts::negatives_below;

/// `[batch, batch]`: for each `(a, n)`, the `k`-th column holds the index of `a`'s `k`-th
/// nearest negative; columns past `a`'s negatives hold non-negatives.
pub(crate) fn negatives_by_distance(
    dissimilarity: Tensor<2>,
    masks: &LabelMasks,
) -> Tensor<2, Int> {
    dissimilarity
        .detach()
        .mask_fill(masks.negative.clone().bool_not(), f32::INFINITY)
        .argsort(1)
}

/// Every triplet `(a, p, n)` whose `d_an` lies in the band.
///
/// dissimilarity `[batch, batch]` (smaller is closer) -> triplets.
pub(crate) fn band_triplets(dissimilarity: Tensor<2>, masks: &LabelMasks, band: Band) -> Triplets {
    let batch = masks.batch_size();
    let device = dissimilarity.device();
    let negatives = masks
        .negatives_per_anchor()
        .unsqueeze_dim::<2>(1)
        .expand([batch, batch]);

    let first = match band.lower {
        Lower::Unbounded => Tensor::<2, Int>::zeros([batch, batch], &device),
        Lower::Above(offset) => negatives_below(dissimilarity.clone(), masks, offset).less_or_equal,
    };
    let end = match band.upper {
        Upper::Unbounded => negatives.clone(),
        Upper::Below(offset) => negatives_below(dissimilarity.clone(), masks, offset).less,
        Upper::AtMost(offset) => {
            negatives_below(dissimilarity.clone(), masks, offset).less_or_equal
        }
    };
    let per_pair = end
        .sub(first.clone())
        .clamp_min(0)
        .mask_fill(masks.positive.clone().bool_not(), 0); // [batch, batch]

    let pairs = per_pair.clone().greater_elem(0).argwhere(); // [pairs, 2]
    let [num_pairs, _] = pairs.dims();
    if num_pairs == 0 {
        return Triplets::empty();
    }
    let pair_anchors = pairs
        .clone()
        .slice([0..num_pairs, 0..1])
        .reshape([num_pairs]);
    let pair_positives = pairs.slice([0..num_pairs, 1..2]).reshape([num_pairs]);
    let flat_pairs = pair_anchors
        .clone()
        .mul_scalar(batch as i64)
        .add(pair_positives.clone());
    let counts = per_pair
        .reshape([batch * batch])
        .select(0, flat_pairs.clone()); // [pairs]
    let firsts = first.reshape([batch * batch]).select(0, flat_pairs); // [pairs]

    let total = scalar_count(counts.clone().sum());
    let ends = counts.clone().cumsum(0);
    let starts = ends.sub(counts); // [pairs]: first triplet of each pair
    // Each triplet's pair: a 1 where a pair's run begins, summed up.
    let pair_of = Tensor::<1, Int>::zeros([total], &device)
        .scatter(
            0,
            starts.clone(),
            Tensor::<1, Int>::ones([num_pairs], &device),
            IndexingUpdateOp::Add,
        )
        .cumsum(0)
        .sub_scalar(1); // [total]
    let within =
        Tensor::<1, Int>::arange(0..total as i64, &device).sub(starts.select(0, pair_of.clone()));
    let rank = firsts.select(0, pair_of.clone()).add(within); // [total]

    let anchors = pair_anchors.select(0, pair_of.clone());
    let positives = pair_positives.select(0, pair_of);
    let order = negatives_by_distance(dissimilarity, masks);
    let negatives = order
        .reshape([batch * batch])
        .select(0, anchors.clone().mul_scalar(batch as i64).add(rank));
    Triplets::new(anchors, positives, negatives)
}
