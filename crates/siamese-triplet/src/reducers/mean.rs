use burn::prelude::*;

/// Sum of `terms` over the number of existing terms (at least 1).
pub(super) fn mean<const D: usize>(terms: Tensor<D>, exists: Tensor<D, Bool>) -> Tensor<1> {
    let count = exists.float().sum().clamp_min(1.0);
    terms.sum().div(count)
}
