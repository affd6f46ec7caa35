//! Reducers: how per-triplet or per-pair loss terms become one loss value.
//!
//! Every reducer takes the terms and a mask of which terms exist, and never divides by
//! zero: with nothing to reduce the loss is exactly 0 and its gradient all zeros.

mod avg_non_zero;
mod mean;
mod sum;

use burn::prelude::*;

/// How loss terms are reduced to one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reducer {
    /// Mean over every existing term, zero terms included (PML `MeanReducer`).
    Mean,
    /// Mean over the terms that are strictly positive (PML `AvgNonZeroReducer`, the
    /// default of PML's triplet and contrastive losses).
    #[default]
    AvgNonZero,
    /// Sum of the terms (PML `SumReducer`).
    Sum,
}

impl Reducer {
    /// terms `[n..]`, exists `[n..]` -> loss `[1]`. Terms where `exists` is false are ignored
    /// and get a zero gradient.
    pub fn reduce<const D: usize>(&self, terms: Tensor<D>, exists: Tensor<D, Bool>) -> Tensor<1> {
        let terms = terms.mask_fill(exists.clone().bool_not(), 0.0);
        match self {
            Reducer::Mean => mean::mean(terms, exists),
            Reducer::AvgNonZero => avg_non_zero::avg_non_zero(terms, exists),
            Reducer::Sum => sum::sum(terms),
        }
    }
}

/// A loss of exactly 0 that is still connected to `embeddings`, so `backward` works and
/// gives an all-zero gradient (even where an embedding is not finite).
pub(crate) fn zero_loss(embeddings: Tensor<2>) -> Tensor<1> {
    let everything = Tensor::<2, Bool>::full(embeddings.dims(), true, &embeddings.device());
    embeddings.mask_fill(everything, 0.0).sum()
}
