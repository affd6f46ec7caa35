//! Training Siamese embedding networks: datasets, P×K class-balanced batches, online
//! mining, evaluation, run directories with checkpoints.
//!
//! The data path reads in one direction: [`data`] (datasets and splits) →
//! [`sampler`] (P×K batches) → [`batcher`] (augmentation, tensors) → model →
//! [`objective`] (distance, miner, loss) → optimizer → [`evaluate`] (retrieval metrics) →
//! [`run_dir`] (config, diagnostics, checkpoints, final model); [`verification`] scores
//! same/different pairs with a trained model.

pub mod allocator;
pub mod augment;
pub mod backend;
pub mod batcher;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod diagnostics;
pub mod error;
pub mod evaluate;
pub mod npy;
pub mod objective;
pub mod progress;
pub mod report;
pub mod rng;
pub mod run_dir;
pub mod sampler;
pub mod throughput;
pub mod trainer;
pub mod verification;

pub use config::TrainConfig;
pub use error::{DataError, TrainError};
