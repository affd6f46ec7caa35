use burn::module::{Module, ModuleDisplay};
use burn::prelude::*;

use crate::ModelError;

/// A network mapping one input kind to embeddings `[batch, dim]`.
pub trait Embedder: Module + ModuleDisplay + Sized {
    /// What it embeds: `Tensor<4>` images or `Tensor<2>` feature vectors.
    type Input: Clone;
    /// Its configuration, from which it is rebuilt when loaded.
    type Config: EmbedderConfig<Embedder = Self>;

    /// The configuration this embedder was built from.
    fn config(&self) -> &Self::Config;

    /// Output size `dim`.
    fn embedding_dim(&self) -> usize;

    /// The shape of an input, for validation.
    fn input_dims(input: &Self::Input) -> Vec<usize>;

    /// `Ok` when an input of shape `dims` fits; otherwise an error naming the expected and
    /// the actual shape.
    fn check_input(&self, dims: &[usize]) -> Result<(), ModelError>;

    /// input -> embeddings `[batch, dim]`. Panics inside Burn if the shape does not fit:
    /// use [`Embedder::try_embed`] on user-facing paths.
    fn embed(&self, input: Self::Input) -> Tensor<2>;

    /// input -> embeddings `[batch, dim]`, after checking the input's shape.
    fn try_embed(&self, input: Self::Input) -> Result<Tensor<2>, ModelError> {
        self.check_input(&Self::input_dims(&input))?;
        Ok(self.embed(input))
    }
}

/// The configuration of an [`Embedder`]: validated when the embedder is built.
pub trait EmbedderConfig: burn::config::Config {
    /// What it builds.
    type Embedder: Embedder<Config = Self>;

    /// Checks the configuration and builds the embedder on `device`.
    fn init(&self, device: &Device) -> Result<Self::Embedder, ModelError>;

    /// Reads a configuration saved as JSON. Configurations whose fields all have defaults
    /// fill in the fields a file from an earlier version lacks (such as
    /// `ConvEmbedderConfig::flex_kernel`); the default reads the file as it is.
    fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
