use burn::prelude::*;

/// Sum of the (already masked) terms.
pub(super) fn sum<const D: usize>(terms: Tensor<D>) -> Tensor<1> {
    terms.sum()
}
