use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::{Activation, Embedder, EmbedderConfig, ModelError};

/// Configuration of an [`MlpEmbedder`] for feature vectors. Defaults: hidden layers of 128
/// and 128, ReLU, no dropout, a 64-d L2-normalised embedding.
#[derive(Config, Debug, PartialEq)]
pub struct MlpEmbedderConfig {
    /// Number of input features.
    pub in_features: usize,
    /// Widths of the hidden layers, in order (may be empty).
    #[config(default = "vec![128, 128]")]
    pub hidden: Vec<usize>,
    /// Dropout probability after each hidden layer while training.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Activation after each hidden layer.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Embedding size.
    #[config(default = 64)]
    pub embedding_dim: usize,
    /// L2-normalise the embeddings (unit norm).
    #[config(default = true)]
    pub normalize: bool,
}

impl EmbedderConfig for MlpEmbedderConfig {
    type Embedder = MlpEmbedder;

    fn init(&self, device: &Device) -> Result<MlpEmbedder, ModelError> {
        let invalid = |message: String| Err(ModelError::InvalidConfig(message));
        if self.in_features == 0 {
            return invalid("in_features is 0".into());
        }
        if let Some(layer) = self.hidden.iter().position(|&width| width == 0) {
            return invalid(format!("hidden layer {layer} has width 0"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return invalid(format!("dropout {} is not in [0, 1)", self.dropout));
        }
        if self.embedding_dim == 0 {
            return invalid("embedding_dim is 0".into());
        }
        let widths: Vec<usize> = std::iter::once(self.in_features)
            .chain(self.hidden.iter().copied())
            .collect();
        let layers = widths
            .windows(2)
            .map(|pair| LinearConfig::new(pair[0], pair[1]).init(device))
            .collect();
        let last = widths.last().copied().unwrap_or(self.in_features);
        Ok(MlpEmbedder {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            projection: LinearConfig::new(last, self.embedding_dim).init(device),
            config: self.clone(),
        })
    }
}

/// Hidden layers, a projection and optional L2 normalisation:
/// features `[batch, in_features] -> embeddings [batch, dim]`.
#[derive(Module, Debug)]
pub struct MlpEmbedder {
    layers: Vec<Linear>,
    dropout: Dropout,
    projection: Linear,
    #[module(skip)]
    config: MlpEmbedderConfig,
}

impl Embedder for MlpEmbedder {
    type Input = Tensor<2>;
    type Config = MlpEmbedderConfig;

    fn config(&self) -> &MlpEmbedderConfig {
        &self.config
    }

    fn embedding_dim(&self) -> usize {
        self.config.embedding_dim
    }

    fn input_dims(input: &Tensor<2>) -> Vec<usize> {
        input.dims().to_vec()
    }

    fn check_input(&self, dims: &[usize]) -> Result<(), ModelError> {
        match dims {
            [batch, features] if *batch > 0 && *features == self.config.in_features => Ok(()),
            _ => Err(ModelError::Shape {
                expected: format!("[batch ≥ 1, {}] (feature vectors)", self.config.in_features),
                actual: dims.to_vec(),
            }),
        }
    }

    /// features `[batch, in_features]` -> embeddings `[batch, dim]`.
    fn embed(&self, features: Tensor<2>) -> Tensor<2> {
        let hidden = self.layers.iter().fold(features, |x, layer| {
            self.dropout
                .forward(self.config.activation.apply(layer.forward(x))) // [batch, width]
        });
        let embeddings = self.projection.forward(hidden); // [batch, dim]
        if self.config.normalize {
            siamese_triplet::distances::l2_normalize(embeddings)
        } else {
            embeddings
        }
    }
}
