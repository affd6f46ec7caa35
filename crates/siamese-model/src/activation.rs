use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The non-linearity between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(0, x)`.
    #[default]
    Relu,
    /// Gaussian error linear unit (exact form).
    Gelu,
}

impl Activation {
    /// Applies the activation element-wise.
    pub fn apply<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => burn::tensor::activation::relu(input),
            Activation::Gelu => burn::tensor::activation::gelu(input),
        }
    }
}
