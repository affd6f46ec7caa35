//! k-nearest-neighbour classification accuracy, computed on the device in blocks of
//! queries.

use burn::prelude::*;

use crate::distances::Distance;
use crate::host::read_ints;

/// Elements of one `[queries, references]` block.
const BLOCK_ELEMENTS: usize = 1 << 22;

/// Fraction of queries whose `k` nearest references vote for the query's label.
///
/// queries `[q, dim]`, query labels `[q]`, references `[n, dim]`, reference labels `[n]`,
/// `k >= 1` -> accuracy in `[0, 1]`. Votes are counted per label; a tie goes to the label
/// of the nearest reference among the tied ones. `k = 1` takes the arg-min of each row;
/// larger `k` sort each row on the device. `k` is capped at `n`.
pub fn knn_accuracy<D: Distance>(
    distance: &D,
    queries: Tensor<2>,
    query_labels: Tensor<1, Int>,
    references: Tensor<2>,
    reference_labels: Tensor<1, Int>,
    k: usize,
) -> f64 {
    let [num_queries, _] = queries.dims();
    let [num_references, _] = references.dims();
    if num_queries == 0 || num_references == 0 {
        return 0.0;
    }
    let k = k.clamp(1, num_references);
    let queries = queries.detach();
    let references = references.detach();
    let reference_label_values = read_ints(reference_labels);
    let block = (BLOCK_ELEMENTS / num_references).clamp(1, num_queries);
    let mut correct = 0usize;
    for start in (0..num_queries).step_by(block) {
        let end = (start + block).min(num_queries);
        let dissimilarity =
            distance.dissimilarity_between(queries.clone().slice(start..end), references.clone()); // [rows, n]
        let neighbours = if k == 1 {
            dissimilarity.argmin(1) // [rows, 1]
        } else {
            dissimilarity.argsort(1).slice([0..end - start, 0..k]) // [rows, k]
        };
        let neighbours = read_ints(neighbours);
        let labels = read_ints(query_labels.clone().slice(start..end));
        for (row, label) in labels.iter().enumerate() {
            let votes: Vec<i64> = neighbours[row * k..(row + 1) * k]
                .iter()
                .map(|&index| reference_label_values[index as usize])
                .collect();
            if majority(&votes) == *label {
                correct += 1;
            }
        }
    }
    correct as f64 / num_queries as f64
}

/// The most frequent label; ties go to the label that appears first (the nearest).
fn majority(votes: &[i64]) -> i64 {
    let count = |label: i64| votes.iter().filter(|&&v| v == label).count();
    votes
        .iter()
        .copied()
        .fold((i64::MIN, 0), |(best, best_count), label| {
            let c = count(label);
            if c > best_count {
                (label, c)
            } else {
                (best, best_count)
            }
        })
        .0
}
