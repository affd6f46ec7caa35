//! Losses. Each takes embeddings `[batch, dim]` (and labels `[batch]` or mined
//! [`Triplets`](crate::Triplets)) and returns a loss `[1]` that backpropagates into the
//! embeddings.
//!
//! | loss | pairs or triplets | memory |
//! |---|---|---|
//! | [`TripletMarginLoss`] | mined triplets; margin (relu) or soft (softplus) | `O(B² + T)` |
//! | [`BandTripletLoss`] | every triplet of a band (semi-hard, hard, ...), never listed | `O(B²)` |
//! | [`BatchAllTripletLoss`] | every valid triplet, never listed | `O(B²)` |
//! | [`ContrastiveLoss`] | every positive and negative pair | `O(B²)` |
//! | [`CircleLoss`] | every pair, per anchor | `O(B²)` |
//! | [`MultiSimilarityLoss`] | every pair, per anchor | `O(B²)` |

mod band_triplet;
mod batch_all_triplet;
mod circle;
mod contrastive;
mod logsumexp;
mod multi_similarity;
mod triplet_margin;

pub use band_triplet::{BandOutput, BandTripletLoss};
pub use batch_all_triplet::BatchAllTripletLoss;
pub use circle::CircleLoss;
pub use contrastive::{ContrastiveLoss, ContrastiveParts};
pub use multi_similarity::MultiSimilarityLoss;
pub use triplet_margin::TripletMarginLoss;
