//! Distances, triplet mining and metric-learning losses on Burn tensors.
//!
//! Everything here works on whole tensors of any Burn backend: embeddings are
//! `Tensor<2>` shaped `[batch, dim]`, labels are `Tensor<1, Int>` shaped `[batch]`.
//! The device the tensors live on decides the backend; nothing in this crate names one.
//!
//! The pieces compose like pytorch-metric-learning (PML):
//! - a [`Distance`](distances::Distance) turns embeddings into a `[batch, batch]` matrix and
//!   says whether smaller means closer;
//! - a [`Miner`](miners::Miner) turns embeddings and labels into [`Triplets`] (index tensors);
//! - a loss ([`losses`]) takes a distance and a [`Reducer`](reducers::Reducer) and scores
//!   the mined triplets (or every pair/triplet for the losses that need no miner);
//! - [`metrics`] classifies triplets (easy / semi-hard / hard) and scores retrieval.
//!
//! Conventions (FaceNet's, with d = distance, m = margin):
//! easy `d_an > d_ap + m`, semi-hard `d_ap < d_an < d_ap + m`, hard `d_an < d_ap`.
//! Where PML or TF-Addons draw the boundaries differently, their behaviour is offered
//! under its own name and the difference is written in that item's documentation.
//!
//! Empty sets never produce `0 / 0`: a loss with no positive pair, no negative, or no
//! triplet is exactly 0 with an all-zero gradient.

mod anchor_negatives;
pub mod band;
mod band_weights;
pub mod distances;
mod host;
pub mod losses;
pub mod masks;
pub mod metrics;
pub mod miners;
pub mod reducers;
mod sort_key;
mod threshold_counts;
mod triplets;

pub use band::Band;
pub use masks::LabelMasks;
pub use triplets::Triplets;
