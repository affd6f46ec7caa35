//! How many of a row's values lie below each of that row's thresholds, in `O(rows · n)`
//! memory.
//!
//! Miners and triplet counts ask, for every positive pair `(a, p)`, how many negatives of
//! `a` have `d_an < t` or `d_an <= t` for a threshold `t` such as `d_ap` or `d_ap + m`.
//! Comparing every pair with every negative is a `[B, B, B]` tensor. Instead each row's
//! values and thresholds are sorted together once (`O(B² log B)` work, `O(B²)` memory);
//! the number of counted values before a threshold's position is its count. Equal values
//! are handled exactly: a threshold's strict count stops at the first element equal to
//! it, its inclusive count runs to the last.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use crate::LabelMasks;

/// Counts of counted values below each threshold, `[rows, thresholds]` each.
pub(crate) struct ThresholdCounts {
    /// `#{ n : counted[r, n] && values[r, n] < thresholds[r, j] }`
    pub less: Tensor<2, Int>,
    /// `#{ n : counted[r, n] && values[r, n] <= thresholds[r, j] }`
    pub less_or_equal: Tensor<2, Int>,
}

/// values `[rows, n]`, counted `[rows, n]`, thresholds `[rows, m]` -> counts `[rows, m]`.
///
/// No gradient flows; the inputs are detached. Values must not be `NaN`.
pub(crate) fn count_below(
    values: Tensor<2>,
    counted: Tensor<2, Bool>,
    thresholds: Tensor<2>,
) -> ThresholdCounts {
    let [rows, n] = values.dims();
    let [_, m] = thresholds.dims();
    let length = n + m;
    let device = values.device();

    let merged = Tensor::cat(vec![values.detach(), thresholds.detach()], 1); // [rows, n + m]
    let tags = Tensor::cat(
        vec![counted.int(), Tensor::<2, Int>::zeros([rows, m], &device)],
        1,
    ); // [rows, n + m]: 1 for a counted value
    let (sorted, order) = merged.sort_with_indices(1); // [rows, n + m] each
    let sorted_tags = tags.gather(1, order.clone());
    let inclusive = sorted_tags.clone().cumsum(1); // counted values at or before each position
    let exclusive = inclusive.clone().sub(sorted_tags); // counted values before each position

    let positions = Tensor::<1, Int>::arange(0..length as i64, &device)
        .unsqueeze_dim::<2>(0)
        .expand([rows, length]); // [rows, n + m]
    let differs = sorted
        .clone()
        .slice([0..rows, 1..length])
        .not_equal(sorted.slice([0..rows, 0..length - 1])); // [rows, n + m - 1]
    let always =
        Tensor::<2, Bool>::from_data(TensorData::new(vec![true; rows], [rows, 1]), &device);
    let run_starts = Tensor::cat(vec![always.clone(), differs.clone()], 1);
    let run_ends = Tensor::cat(vec![differs, always], 1);

    // First position of each element's run of equal values.
    let first_equal = positions
        .clone()
        .mask_fill(run_starts.bool_not(), 0)
        .cummax(1);
    // Last position of each element's run of equal values.
    let last_equal = positions
        .mask_fill(run_ends.bool_not(), length as i64)
        .flip([1])
        .cummin(1)
        .flip([1]);

    let less_sorted = exclusive.gather(1, first_equal);
    let less_or_equal_sorted = inclusive.gather(1, last_equal);

    let unsort = |sorted_counts: Tensor<2, Int>| {
        Tensor::<2, Int>::zeros([rows, length], &device)
            .scatter(1, order.clone(), sorted_counts, IndexingUpdateOp::Assign)
            .slice([0..rows, n..length])
    };
    ThresholdCounts {
        less: unsort(less_sorted),
        less_or_equal: unsort(less_or_equal_sorted),
    }
}

/// Counts of `a`'s negatives below `d_ap + offset` for every `(a, p)`, `[batch, batch]`.
pub(crate) fn negatives_below(
    dissimilarity: Tensor<2>,
    masks: &LabelMasks,
    offset: f64,
) -> ThresholdCounts {
    let dissimilarity = dissimilarity.detach();
    count_below(
        dissimilarity.clone(),
        masks.negative.clone(),
        dissimilarity.add_scalar(offset),
    )
}
