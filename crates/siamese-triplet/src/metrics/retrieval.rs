//! Retrieval quality of an embedding, with PML `AccuracyCalculator` semantics, computed on
//! the device in blocks of queries (`O(block · N)` memory, no `N × N` matrix on the host).

use burn::prelude::*;

use crate::distances::Distance;
use crate::host::{count_true, scalar_count, scalar_f64};

/// Elements of one `[queries, references]` block.
const BLOCK_ELEMENTS: usize = 1 << 22;

/// Retrieval metrics, each the plain mean over queries (PML's `avg_of_avgs=False`).
///
/// For a query with `R` relevant references (same label; the query itself excluded by
/// index when queries and references are the same set, so an exact duplicate still counts
/// as a neighbour): precision@1 is 1 when the nearest reference is relevant;
/// R-precision is the relevant fraction of the `R` nearest; MAP@R is
/// `1/R · Σ_{i <= R, i-th relevant} precision@i` (divided by `R`, not by the hits).
/// Queries with `R = 0` are left out, as PML does. Exactly tied distances are ordered
/// arbitrarily.
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
    let block = (BLOCK_ELEMENTS / num_references).clamp(1, num_queries);
    let mut sums = Sums::default();
    for start in (0..num_queries).step_by(block) {
        let end = (start + block).min(num_queries);
        score_block(
            distance,
            queries.clone().slice(start..end),
            query_labels.clone().slice(start..end),
            &references,
            &reference_labels,
            exclude_self.then_some(start),
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

/// Adds one block of queries to `sums`. `self_offset` is the block's first row index in
/// the reference set when queries are references.
fn score_block<D: Distance>(
    distance: &D,
    queries: Tensor<2>,
    query_labels: Tensor<1, Int>,
    references: &Tensor<2>,
    reference_labels: &Tensor<1, Int>,
    self_offset: Option<usize>,
    sums: &mut Sums,
) {
    let [rows, _] = queries.dims();
    let [columns, _] = references.dims();
    let device = queries.device();
    let shape = [rows, columns];
    let mut dissimilarity = distance.dissimilarity_between(queries, references.clone()); // [rows, columns]
    let mut relevant = query_labels
        .unsqueeze_dim::<2>(1)
        .expand(shape)
        .equal(reference_labels.clone().unsqueeze_dim::<2>(0).expand(shape)); // [rows, columns]
    if let Some(offset) = self_offset {
        let row_index = Tensor::<1, Int>::arange(offset as i64..(offset + rows) as i64, &device)
            .unsqueeze_dim::<2>(1)
            .expand(shape);
        let column_index = Tensor::<1, Int>::arange(0..columns as i64, &device)
            .unsqueeze_dim::<2>(0)
            .expand(shape);
        let itself = row_index.equal(column_index);
        dissimilarity = dissimilarity.mask_fill(itself.clone(), f32::INFINITY);
        relevant = relevant.bool_and(itself.bool_not());
    }
    let relevant = relevant.int();
    let r = relevant.clone().sum_dim(1); // [rows, 1]
    // Only the first R nearest of each query count; the largest R of the block bounds them
    // (PML's `k = "max_bin_count"`).
    let nearest = scalar_count(r.clone().max()).max(1);
    let shape = [rows, nearest];
    let order = dissimilarity.argsort(1).slice([0..rows, 0..nearest]); // [rows, nearest]: nearest first
    let hits = relevant.gather(1, order); // [rows, nearest]: 1 where the k-th nearest is relevant
    let rank = Tensor::<1, Int>::arange(0..nearest as i64, &device)
        .unsqueeze_dim::<2>(0)
        .expand(shape); // [rows, nearest]
    let hits_in_r = hits
        .clone()
        .mask_fill(rank.clone().greater_equal(r.clone().expand(shape)), 0); // [rows, nearest]
    let precision_at_rank = hits_in_r
        .clone()
        .cumsum(1)
        .float()
        .div(rank.add_scalar(1).float()); // [rows, nearest]

    let has_relevant = r.clone().greater_elem(0); // [rows, 1]
    let r = r.float().clamp_min(1.0);
    let per_query = |values: Tensor<2>| -> f64 {
        scalar_f64(values.mask_fill(has_relevant.clone().bool_not(), 0.0).sum())
    };
    sums.precision_at_1 += per_query(hits.slice([0..rows, 0..1]).float());
    sums.r_precision += per_query(hits_in_r.clone().float().sum_dim(1).div(r.clone()));
    sums.average_precision += per_query(precision_at_rank.mul(hits_in_r.float()).sum_dim(1).div(r));
    sums.queries += count_true(has_relevant);
}
