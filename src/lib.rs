//! Siamese networks with triplet loss on Burn: re-exports the workspace crates.
//!
//! - [`triplet`]: distances, miners, losses, reducers and metrics (`siamese-triplet`);
//! - [`model`]: embedding networks and the Siamese wrapper (`siamese-model`);
//! - [`train`]: datasets, P×K sampling, the trainer, evaluation, verification and run
//!   directories (`siamese-train`).

pub use siamese_model as model;
pub use siamese_train as train;
pub use siamese_triplet as triplet;
