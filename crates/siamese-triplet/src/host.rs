//! Reading small results back from the device.
//!
//! Reads synchronise with the device. Like Burn's own `into_scalar`, they panic only if the
//! device itself fails to return data, which no input can cause.

use burn::prelude::*;

const READ_FAILED: &str = "the device failed to return tensor data";

/// Number of `true` entries of a mask.
pub(crate) fn count_true<const D: usize>(mask: Tensor<D, Bool>) -> usize {
    scalar_count(mask.int().sum())
}

/// A one-element integer tensor read as a count (negative values read as 0).
pub(crate) fn scalar_count(count: Tensor<1, Int>) -> usize {
    usize::try_from(count.into_scalar::<i64>()).unwrap_or(0)
}

/// An integer tensor read as `i64` values, row-major.
pub(crate) fn read_ints<const D: usize>(tensor: Tensor<D, Int>) -> Vec<i64> {
    tensor.try_into_vec_as::<i64>().expect(READ_FAILED)
}

/// A float tensor read as `f32` values, row-major.
pub(crate) fn read_floats<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.try_into_vec_as::<f32>().expect(READ_FAILED)
}

/// A bool tensor read as values, row-major.
pub(crate) fn read_bools<const D: usize>(tensor: Tensor<D, Bool>) -> Vec<bool> {
    tensor.try_into_vec_as::<bool>().expect(READ_FAILED)
}
