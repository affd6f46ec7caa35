//! Miners: which triplets of a batch a triplet loss should look at.
//!
//! A miner reads embeddings `[batch, dim]` and labels `[batch]` and returns [`Triplets`]
//! (row indices), without gradient. Each miner measures with its own distance, which may
//! differ from the loss's (as in PML).
//!
//! | miner | selects | memory |
//! |---|---|---|
//! | [`BatchAllMiner`] | every valid triplet | `O(B² + T)` |
//! | [`BatchHardMiner`] | per anchor: farthest positive, nearest negative | `O(B²)` |
//! | [`SemiHardMiner`] | FaceNet: `d_ap < d_an < d_ap + m` | `O(B² + T)` |
//! | [`TripletMarginMiner`] | PML's `all` / `hard` / `semihard` / `easy` | `O(B² + T)` |
//! | [`TfaSemiHardMiner`] | TF-Addons: one negative per positive pair | `O(B²)` |
//! | [`BatchEasyHardMiner`] | PML: easiest positive, semi-hard negative | `O(B²)` |
//!
//! `T` is the number of triplets returned: the triplets themselves are never built from a
//! `[B, B, B]` mask. A band miner's `band()` given to
//! [`BandTripletLoss`](crate::losses::BandTripletLoss) gives its margin loss without listing
//! the triplets, in `O(B²)`.

mod batch_all;
mod batch_easy_hard;
mod batch_hard;
mod negative_bands;
mod semi_hard;
mod tfa_semi_hard;
mod triplet_margin;

use burn::prelude::*;

use crate::Triplets;

pub use batch_all::BatchAllMiner;
pub use batch_easy_hard::{BatchEasyHardMiner, NegativeStrategy, PositiveStrategy};
pub use batch_hard::BatchHardMiner;
pub use semi_hard::SemiHardMiner;
pub use tfa_semi_hard::TfaSemiHardMiner;
pub use triplet_margin::{TripletMarginMiner, TripletType};

/// Selects triplets from a batch.
pub trait Miner {
    /// embeddings `[batch, dim]`, labels `[batch]` -> triplets of row indices.
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets;
}

impl<T: Miner + ?Sized> Miner for Box<T> {
    fn mine(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Triplets {
        (**self).mine(embeddings, labels)
    }
}

/// Rows where `valid` holds, `[valid]`, or `None` when there are none.
pub(crate) fn valid_rows(valid: Tensor<1, Bool>) -> Option<Tensor<1, Int>> {
    let rows = valid.argwhere(); // [valid, 1]
    let [count, _] = rows.dims();
    (count > 0).then(|| rows.reshape([count]))
}
