//! Retrieval quality of an embedding, with PML `AccuracyCalculator` semantics: distances on
//! the device in blocks of queries (`O(block · N)` memory, never `N × N`), each block's
//! rows ranked on the host in parallel (a selection of each query's `R` nearest, then a
//! sort of those).

use burn::prelude::*;

use crate::distances::Distance;
use std::collections::HashMap;

use rayon::prelude::*;

use super::nearest::nearest_relevance;
use crate::host::{read_floats, read_ints};

/// Elements of one `[queries, references]` block.
const BLOCK_ELEMENTS: usize = 1 << 22;

/// Retrieval metrics, each the plain mean over queries (PML's `avg_of_avgs=False`).
///
/// For a query with `R` relevant references (same label; the query itself excluded by
/// index when queries and references are the same set, so an exact duplicate still counts
/// as a neighbour): precision@1 is 1 when the nearest reference is relevant;
/// R-precision is the relevant fraction of the `R` nearest; MAP@R is
/// `1/R · Σ_{i <= R, i-th relevant} precision@i` (divided by `R`, not by the hits).
/// Queries with `R = 0` are left out, as PML does. Exactly tied distances are ordered by
/// reference index.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RetrievalMetrics {
    /// Fraction of queries whose nearest reference is relevant.
    pub precision_at_1: f64,
    /// Mean relevant fraction among each query's `R` nearest references.
    pub r_precision: f64,
    /// Mean average precision at `R`.
    pub mean_average_precision_at_r: f64,
    /// Queries with at least one relevant reference (the divisor).
    pub num_queries: usize,
}

/// The set is both query and reference set, each item excluded from its own neighbours.
///
/// embeddings `[n, dim]`, labels `[n]` -> metrics.
pub fn retrieval_metrics<D: Distance>(
    distance: &D,
    embeddings: Tensor<2>,
    labels: Tensor<1, Int>,
) -> RetrievalMetrics {
    evaluate(
        distance,
        embeddings.clone(),
        labels.clone(),
        embeddings,
        labels,
        true,
    )
}

/// Queries searched in a separate reference set.
///
/// queries `[q, dim]`, query labels `[q]`, references `[n, dim]`, reference labels `[n]`
/// -> metrics.
pub fn retrieval_metrics_between<D: Distance>(
    distance: &D,
    queries: Tensor<2>,
    query_labels: Tensor<1, Int>,
    references: Tensor<2>,
    reference_labels: Tensor<1, Int>,
) -> RetrievalMetrics {
    evaluate(
        distance,
        queries,
        query_labels,
        references,
        reference_labels,
        false,
    )
}

#[derive(Default)]
struct Sums {
    precision_at_1: f64,
    r_precision: f64,
    average_precision: f64,
    queries: usize,
}

fn evaluate<D: Distance>(
    distance: &D,
    queries: Tensor<2>,
    query_labels: Tensor<1, Int>,
    references: Tensor<2>,
    reference_labels: Tensor<1, Int>,
    exclude_self: bool,
) -> RetrievalMetrics {
    let [num_queries, _] = queries.dims();
    let [num_references, _] = references.dims();
    if num_queries == 0 || num_references == 0 {
        return RetrievalMetrics::default();
    }
    let queries = queries.detach();
    let references = references.detach();
    let query_labels = read_ints(query_labels);
    let reference_labels = read_ints(reference_labels);
    let mut label_counts: HashMap<i64, usize> = HashMap::new();
    for &label in &reference_labels {
        *label_counts.entry(label).or_default() += 1;
    }
    let labels = Labels {
        queries: &query_labels,
        references: &reference_labels,
        counts: &label_counts,
    };
    let block = (BLOCK_ELEMENTS / num_references).clamp(1, num_queries);
    let mut sums = Sums::default();
    for start in (0..num_queries).step_by(block) {
        let end = (start + block).min(num_queries);
        let dissimilarity =
            distance.dissimilarity_between(queries.clone().slice(start..end), references.clone()); // [end - start, references]
        score_block(
            &read_floats(dissimilarity),
            start,
            &labels,
            exclude_self,
            &mut sums,
        );
    }
    let divisor = sums.queries.max(1) as f64;
    RetrievalMetrics {
        precision_at_1: sums.precision_at_1 / divisor,
        r_precision: sums.r_precision / divisor,
        mean_average_precision_at_r: sums.average_precision / divisor,
        num_queries: sums.queries,
    }
}

/// The labels of queries and references, and how many references carry each label.
struct Labels<'a> {
    queries: &'a [i64],
    references: &'a [i64],
    counts: &'a HashMap<i64, usize>,
}

/// Adds one block of queries to `sums`: `dissimilarity` holds rows `start..` of the
/// `[queries, references]` matrix, row-major. `exclude_self`: query `i` is reference `i`.
fn score_block(
    dissimilarity: &[f32],
    start: usize,
    labels: &Labels,
    exclude_self: bool,
    sums: &mut Sums,
) {
    let columns = labels.references.len();
    // (precision@1, R-precision, average precision) of each query with a relevant reference.
    let per_query: Vec<Option<[f64; 3]>> = dissimilarity
        .par_chunks(columns)
        .enumerate()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(keys, hits), (offset, row)| {
                let query = start + offset;
                let label = labels.queries[query];
                let excluded = exclude_self.then_some(query);
                // The query itself, when excluded, is one of its label's references.
                let r = labels
                    .counts
                    .get(&label)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(usize::from(exclude_self));
                if r == 0 {
                    return None;
                }
                let relevant = |column: usize| labels.references[column] == label;
                nearest_relevance(row, excluded, r, relevant, keys, hits);
                Some(query_scores(hits, r))
            },
        )
        .collect();
    for scores in per_query.into_iter().flatten() {
        sums.precision_at_1 += scores[0];
        sums.r_precision += scores[1];
        sums.average_precision += scores[2];
        sums.queries += 1;
    }
}

/// `hits`: relevance of a query's `R` nearest references, nearest first -> its
/// precision@1, R-precision and average precision at `R`.
fn query_scores(hits: &[bool], r: usize) -> [f64; 3] {
    let mut found = 0usize;
    let mut precision_sum = 0.0;
    for (rank, _) in hits.iter().enumerate().filter(|(_, hit)| **hit) {
        found += 1;
        precision_sum += found as f64 / (rank + 1) as f64;
    }
    let r = r as f64;
    [
        f64::from(u8::from(hits.first() == Some(&true))),
        found as f64 / r,
        precision_sum / r,
    ]
}
