use std::path::Path;

use burn::prelude::*;
use siamese_triplet::distances::Distance;

use crate::{Embedder, ModelError, store};

/// A Siamese network: one embedder, so every branch — pair, triplet — uses the same
/// weights by construction.
#[derive(Module, Debug)]
pub struct Siamese<E: Embedder> {
    /// The shared embedder.
    pub embedder: E,
}

impl<E: Embedder> Siamese<E> {
    /// Wraps `embedder`.
    pub fn new(embedder: E) -> Self {
        Self { embedder }
    }

    /// input -> embeddings `[batch, dim]`.
    pub fn embed(&self, input: E::Input) -> Tensor<2> {
        self.embedder.embed(input)
    }

    /// input -> embeddings `[batch, dim]`, after checking the input's shape.
    pub fn try_embed(&self, input: E::Input) -> Result<Tensor<2>, ModelError> {
        self.embedder.try_embed(input)
    }

    /// Both sides of pairs, through the same weights: `([batch, dim], [batch, dim])`.
    pub fn embed_pair(
        &self,
        left: E::Input,
        right: E::Input,
    ) -> Result<(Tensor<2>, Tensor<2>), ModelError> {
        Ok((self.try_embed(left)?, self.try_embed(right)?))
    }

    /// Distance of each pair `(left[i], right[i])` under `distance`: `[batch]`.
    pub fn pair_distance<D: Distance>(
        &self,
        left: E::Input,
        right: E::Input,
        distance: &D,
    ) -> Result<Tensor<1>, ModelError> {
        let (left, right) = self.embed_pair(left, right)?;
        let [left_batch, _] = left.dims();
        let [right_batch, _] = right.dims();
        if left_batch != right_batch {
            return Err(ModelError::Shape {
                expected: format!("as many right inputs as left ones ({left_batch})"),
                actual: vec![right_batch],
            });
        }
        Ok(distance.paired(left, right))
    }

    /// Anchors, positives, negatives through the same weights, `[batch, dim]` each.
    pub fn embed_triplet(
        &self,
        anchors: E::Input,
        positives: E::Input,
        negatives: E::Input,
    ) -> Result<(Tensor<2>, Tensor<2>, Tensor<2>), ModelError> {
        Ok((
            self.try_embed(anchors)?,
            self.try_embed(positives)?,
            self.try_embed(negatives)?,
        ))
    }

    /// Writes the embedder's configuration and the weights into `directory` (created if
    /// needed), each file atomically.
    pub fn save_dir(&self, directory: &Path) -> Result<(), ModelError> {
        store::save(self.embedder.clone(), directory)
    }

    /// Rebuilds a model on `device` from a directory written by [`Siamese::save_dir`].
    pub fn load_dir(directory: &Path, device: &Device) -> Result<Self, ModelError> {
        store::load(directory, device)
    }
}
