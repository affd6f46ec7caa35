//! Embedding networks whose shared weights map inputs to a metric space, for Burn 0.22.
//!
//! - [`ConvEmbedder`]: images `[batch, channels, height, width] -> [batch, dim]`, a stack of
//!   conv blocks and a projection head; the default is the small MNIST-class net.
//! - [`MlpEmbedder`]: feature vectors `[batch, features] -> [batch, dim]`.
//! - [`Siamese`]: one embedder used for every branch (pairs, triplets), saved and loaded
//!   as a directory holding its configuration and its weights.
//!
//! Modules carry no backend type: they are built with `init(&device)` and the device alone
//! decides the backend (flex, ndarray, or wgpu when compiled in).
//!
//! ```
//! use burn::prelude::*;
//! use siamese_model::{ConvEmbedderConfig, Embedder, EmbedderConfig};
//!
//! let device = Device::flex();
//! let embedder = ConvEmbedderConfig::new().init(&device)?;
//! let images = Tensor::<4>::random([8, 1, 28, 28], burn::tensor::Distribution::Default, &device);
//! let embeddings = embedder.try_embed(images)?;
//! println!("{:?}", embeddings.dims()); // [8, 64]
//! assert_eq!(embeddings.dims(), [8, 64]);
//! # Ok::<(), siamese_model::ModelError>(())
//! ```

mod activation;
mod conv_block;
mod conv_embedder;
pub mod conv_pool;
mod embedder;
mod error;
#[cfg(feature = "flex")]
pub mod flex_conv_pool;
mod mlp_embedder;
mod siamese;
mod store;

pub use activation::Activation;
pub use conv_embedder::{ConvEmbedder, ConvEmbedderConfig};
pub use embedder::{Embedder, EmbedderConfig};
pub use error::ModelError;
pub use mlp_embedder::{MlpEmbedder, MlpEmbedderConfig};
pub use siamese::Siamese;
pub use store::{CONFIG_FILE, WEIGHTS_FILE};
