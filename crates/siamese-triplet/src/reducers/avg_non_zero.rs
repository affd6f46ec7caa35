use burn::prelude::*;

/// Sum of `terms` over the number of existing terms that are `> 0` (at least 1).
pub(super) fn avg_non_zero<const D: usize>(terms: Tensor<D>, exists: Tensor<D, Bool>) -> Tensor<1> {
    let positive = terms.clone().detach().greater_elem(0.0).bool_and(exists);
    let count = positive.float().sum().clamp_min(1.0);
    terms.sum().div(count)
}
