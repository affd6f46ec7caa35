//! Examples to tensors, through burn-dataset's `Batcher`.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use siamese_model::{ConvEmbedder, Embedder, MlpEmbedder};

use crate::data::{Example, InputShape};

/// A batch on the device: values `[batch, shape.len()]` and labels `[batch]`.
#[derive(Debug, Clone)]
pub struct ExampleBatch {
    /// Flattened examples.
    pub values: Tensor<2>,
    /// Class indices.
    pub labels: Tensor<1, Int>,
}

/// Stacks examples of one shape into an [`ExampleBatch`].
#[derive(Debug, Clone, Copy)]
pub struct ExampleBatcher {
    /// What every example looks like.
    pub shape: InputShape,
}

impl Batcher<Example, ExampleBatch> for ExampleBatcher {
    fn batch(&self, items: Vec<Example>, device: &Device) -> ExampleBatch {
        let count = items.len();
        let width = self.shape.len();
        let mut values = Vec::with_capacity(count * width);
        let mut labels = Vec::with_capacity(count);
        for item in items {
            values.extend_from_slice(&item.values);
            labels.push(item.label as i64);
        }
        ExampleBatch {
            values: Tensor::from_data(TensorData::new(values, [count, width]), device),
            labels: Tensor::from_data(TensorData::new(labels, [count]), device),
        }
    }
}

/// An embedder that can take flattened examples of an [`InputShape`].
pub trait BatchInput: Embedder {
    /// values `[batch, shape.len()]` -> the embedder's input.
    fn input(values: Tensor<2>, shape: InputShape) -> Self::Input;
}

impl BatchInput for ConvEmbedder {
    /// values `[batch, c·h·w]` -> images `[batch, c, h, w]`.
    fn input(values: Tensor<2>, shape: InputShape) -> Tensor<4> {
        let [batch, width] = values.dims();
        match shape {
            InputShape::Image {
                channels,
                height,
                width,
            } => values.reshape([batch, channels, height, width]),
            InputShape::Features { .. } => values.reshape([batch, 1, 1, width]),
        }
    }
}

impl BatchInput for MlpEmbedder {
    /// values `[batch, features]` -> features `[batch, features]`.
    fn input(values: Tensor<2>, _shape: InputShape) -> Tensor<2> {
        values
    }
}
