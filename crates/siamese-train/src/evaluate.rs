//! Evaluation protocol: the held-out set is both query and reference set (PML
//! `AccuracyCalculator` semantics: self excluded, lone queries left out) for precision@1,
//! R-precision and MAP@R; kNN accuracy classifies held-out queries by their nearest
//! gallery examples (the training set, or for a class-disjoint split the training-part
//! examples of the unseen classes).

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use siamese_model::Siamese;
use siamese_triplet::distances::{Distance, Euclidean};
use siamese_triplet::metrics::{RetrievalMetrics, knn_accuracy, retrieval_metrics};

use crate::batcher::{BatchInput, ExampleBatch, ExampleBatcher};
use crate::data::{ExampleSet, Splits};

/// Examples embedded per forward pass.
const EMBED_BATCH: usize = 500;

/// Metrics of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// precision@1, R-precision, MAP@R on the held-out set.
    pub retrieval: RetrievalMetrics,
    /// kNN accuracy of the held-out queries against the gallery.
    pub knn_accuracy: f64,
    /// k of the kNN accuracy.
    pub k: usize,
    /// Queries (held-out examples) evaluated.
    pub queries: usize,
    /// Gallery size.
    pub gallery: usize,
}

impl Evaluation {
    /// The one-line summary; it always contains `precision@1 <value>`.
    pub fn summary(&self, what: &str) -> String {
        format!(
            "{what}: precision@1 {:.4}  R-precision {:.4}  MAP@R {:.4}  {}-NN accuracy {:.4}  ({} queries, gallery {})",
            self.retrieval.precision_at_1,
            self.retrieval.r_precision,
            self.retrieval.mean_average_precision_at_r,
            self.k,
            self.knn_accuracy,
            self.queries,
            self.gallery
        )
    }
}

/// A set as one batch `[n, values]` on `device`.
fn as_batch(set: &ExampleSet, device: &Device) -> ExampleBatch {
    let items = (0..set.len())
        .filter_map(|index| set.get(index).ok())
        .collect();
    ExampleBatcher { shape: set.shape() }.batch(items, device)
}

/// Embeds a set in batches with an inference-mode model: `[n, dim]` on `device`.
pub fn embed_set<E: BatchInput>(
    model: &Siamese<E>,
    set: &ExampleSet,
    device: &Device,
) -> Tensor<2> {
    let shape = set.shape();
    let all = as_batch(set, device).values; // [n, values]
    let pieces: Vec<Tensor<2>> = (0..set.len())
        .step_by(EMBED_BATCH)
        .map(|start| {
            let end = (start + EMBED_BATCH).min(set.len());
            model.embed(E::input(all.clone().slice(start..end), shape))
        })
        .collect();
    Tensor::cat(pieces, 0)
}

/// The first `limit` examples of a set (all when `limit` is 0 or larger than the set).
pub fn first(set: &ExampleSet, limit: usize) -> ExampleSet {
    if limit == 0 || limit >= set.len() {
        return set.clone();
    }
    // Evenly spread, so every class keeps its share.
    let indices: Vec<usize> = (0..limit).map(|i| i * set.len() / limit).collect();
    set.subset(&indices)
}

/// Metrics of embeddings: held-out `queries` with labels, against `gallery`.
pub fn metrics(
    distance: &dyn Distance,
    queries: Tensor<2>,
    query_labels: Tensor<1, Int>,
    gallery: Tensor<2>,
    gallery_labels: Tensor<1, Int>,
    k: usize,
) -> Evaluation {
    let [query_count, _] = queries.dims();
    let [gallery_count, _] = gallery.dims();
    let retrieval = retrieval_metrics(&distance, queries.clone(), query_labels.clone());
    let knn_accuracy = knn_accuracy(&distance, queries, query_labels, gallery, gallery_labels, k);
    Evaluation {
        retrieval,
        knn_accuracy,
        k,
        queries: query_count,
        gallery: gallery_count,
    }
}

/// Evaluates `model` (inference mode, on `device`) on the splits, with at most `limit`
/// held-out queries (0: all) and a gallery cut in the same proportion.
pub fn evaluate<E: BatchInput>(
    model: &Siamese<E>,
    splits: &Splits,
    distance: &dyn Distance,
    k: usize,
    limit: usize,
    device: &Device,
) -> Evaluation {
    let queries = first(&splits.eval, limit);
    // The gallery shrinks in proportion, so a quick evaluation is quick throughout.
    let gallery = match limit {
        0 => splits.gallery.clone(),
        _ => first(
            &splits.gallery,
            (limit * splits.gallery.len()).div_ceil(splits.eval.len().max(1)),
        ),
    };
    let query_embeddings = embed_set(model, &queries, device);
    let gallery_embeddings = embed_set(model, &gallery, device);
    metrics(
        distance,
        query_embeddings,
        as_batch(&queries, device).labels,
        gallery_embeddings,
        as_batch(&gallery, device).labels,
        k,
    )
}

/// The same metrics on raw values (pixels or features) with euclidean distance: the
/// baseline an embedding must beat.
pub fn raw_baseline(splits: &Splits, k: usize, device: &Device) -> Evaluation {
    let queries = as_batch(&splits.eval, device);
    let gallery = as_batch(&splits.gallery, device);
    metrics(
        &Euclidean::new(),
        queries.values,
        queries.labels,
        gallery.values,
        gallery.labels,
        k,
    )
}
