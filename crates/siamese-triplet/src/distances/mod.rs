//! Pairwise distance and similarity matrices.
//!
//! Every distance maps `query [n, dim]` and `reference [m, dim]` to `[n, m]`.
//! [`Distance::smaller_is_closer`] says whether the values are distances (smaller is
//! closer) or similarities (larger is closer); miners and losses use
//! [`Distance::dissimilarity`], which is the matrix itself for distances and its negation
//! for similarities, so they work with both.

mod cosine_distance;
mod cosine_similarity;
mod euclidean;
mod exact;
mod normalize;
mod squared_euclidean;

use burn::prelude::*;

pub use cosine_distance::CosineDistance;
pub use cosine_similarity::CosineSimilarity;
pub use euclidean::Euclidean;
pub use normalize::l2_normalize;
pub use squared_euclidean::SquaredEuclidean;

/// A pairwise distance or similarity between embeddings.
pub trait Distance {
    /// query `[n, dim]`, reference `[m, dim]` -> values `[n, m]`.
    fn matrix(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2>;

    /// `true` for distances (smaller is closer), `false` for similarities.
    fn smaller_is_closer(&self) -> bool;

    /// Row by row: left `[n, dim]`, right `[n, dim]` -> `[n]`, the value between `left[i]`
    /// and `right[i]` (no `[n, n]` matrix).
    fn paired(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1>;

    /// embeddings `[batch, dim]` -> values `[batch, batch]`.
    fn pairwise(&self, embeddings: Tensor<2>) -> Tensor<2> {
        self.matrix(embeddings.clone(), embeddings)
    }

    /// embeddings `[batch, dim]` -> `[batch, batch]` where smaller always means closer:
    /// the distance itself, or the negated similarity.
    fn dissimilarity(&self, embeddings: Tensor<2>) -> Tensor<2> {
        oriented(self.smaller_is_closer(), self.pairwise(embeddings))
    }

    /// query `[n, dim]`, reference `[m, dim]` -> `[n, m]` where smaller always means closer.
    fn dissimilarity_between(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        oriented(self.smaller_is_closer(), self.matrix(query, reference))
    }

    /// Row by row: left `[n, dim]`, right `[n, dim]` -> `[n]` where smaller always means
    /// closer: [`Distance::paired`], negated for a similarity.
    fn paired_dissimilarity(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
        oriented(self.smaller_is_closer(), self.paired(left, right))
    }
}

impl<T: Distance + ?Sized> Distance for Box<T> {
    fn matrix(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        (**self).matrix(query, reference)
    }

    fn paired(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
        (**self).paired(left, right)
    }

    fn pairwise(&self, embeddings: Tensor<2>) -> Tensor<2> {
        (**self).pairwise(embeddings)
    }

    fn smaller_is_closer(&self) -> bool {
        (**self).smaller_is_closer()
    }
}

impl<T: Distance + ?Sized> Distance for &T {
    fn matrix(&self, query: Tensor<2>, reference: Tensor<2>) -> Tensor<2> {
        (**self).matrix(query, reference)
    }

    fn paired(&self, left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
        (**self).paired(left, right)
    }

    fn pairwise(&self, embeddings: Tensor<2>) -> Tensor<2> {
        (**self).pairwise(embeddings)
    }

    fn smaller_is_closer(&self) -> bool {
        (**self).smaller_is_closer()
    }
}

/// Applies PML's optional L2 normalisation.
/// `values` as dissimilarities: unchanged for a distance, negated for a similarity.
fn oriented<const N: usize>(smaller_is_closer: bool, values: Tensor<N>) -> Tensor<N> {
    if smaller_is_closer {
        values
    } else {
        values.neg()
    }
}

fn maybe_normalize(normalize: bool, embeddings: Tensor<2>) -> Tensor<2> {
    if normalize {
        l2_normalize(embeddings)
    } else {
        embeddings
    }
}

/// left `[n, dim]`, right `[n, dim]` -> `Σ (left - right)²` per row `[n]`.
fn paired_squared_differences(left: Tensor<2>, right: Tensor<2>) -> Tensor<1> {
    let [n, _] = left.dims();
    left.sub(right).square().sum_dim(1).reshape([n])
}
