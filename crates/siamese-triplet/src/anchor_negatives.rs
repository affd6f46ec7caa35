//! One anchor's row of a dissimilarity matrix read back to the host: its negatives sorted by
//! distance once, and its positives. Band losses, band miners and TF-Addons' miner all
//! answer their questions per positive pair by binary search in that order.

use burn::prelude::*;

use crate::host::{read_floats, read_ints};
use crate::sort_key::{key_column, sort_key};

/// dissimilarity `[batch, batch]`, labels `[batch]` -> both read back to the host, the
/// matrix row-major.
///
/// # Panics
///
/// When the labels do not give one label per row and column of the matrix.
pub(crate) fn read_rows(dissimilarity: Tensor<2>, labels: Tensor<1, Int>) -> (Vec<f32>, Vec<i64>) {
    let [rows, columns] = dissimilarity.dims();
    let [batch] = labels.dims();
    assert!(
        rows == batch && columns == batch,
        "{batch} labels for a {rows}×{columns} distance matrix: one label per embedding is expected"
    );
    (read_floats(dissimilarity), read_ints(labels))
}

/// One anchor's negatives (columns whose label differs), nearest first, equal values by
/// column (`-0.0` counts as `0.0`).
pub(crate) struct SortedNegatives {
    /// Sort keys (the column in the low bits), nearest first.
    keys: Vec<u64>,
    /// Their dissimilarities, in the same order.
    pub values: Vec<f32>,
}

impl SortedNegatives {
    /// `anchor`'s negatives in its dissimilarity `row` `[batch]`, labels `[batch]`.
    pub fn new(anchor: usize, row: &[f32], labels: &[i64]) -> Self {
        let label = labels[anchor];
        let mut keys: Vec<u64> = labels
            .iter()
            .enumerate()
            .filter(|&(_, &other)| other != label)
            .map(|(column, _)| sort_key(row[column] + 0.0, column))
            .collect();
        keys.sort_unstable();
        let values = keys.iter().map(|&key| row[key_column(key)]).collect();
        Self { keys, values }
    }

    /// Number of negatives.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// `true` when the anchor has no negative.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The columns of the negatives of ranks `ranks`, nearest first.
    pub fn columns(&self, ranks: std::ops::Range<usize>) -> impl Iterator<Item = usize> + '_ {
        self.keys[ranks].iter().map(|&key| key_column(key))
    }
}

/// The columns of `anchor`'s positives (same label, not itself), ascending.
pub(crate) fn positives_of(anchor: usize, labels: &[i64]) -> impl Iterator<Item = usize> + '_ {
    labels
        .iter()
        .enumerate()
        .filter(move |&(column, &other)| other == labels[anchor] && column != anchor)
        .map(|(column, _)| column)
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "3 labels for a 4×4 distance matrix")]
    fn labels_must_match_the_matrix() {
        let device = Device::flex();
        let _ = read_rows(
            Tensor::<2>::zeros([4, 4], &device),
            Tensor::<1, Int>::zeros([3], &device),
        );
    }
}
