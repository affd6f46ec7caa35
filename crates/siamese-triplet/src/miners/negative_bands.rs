//! Listing every triplet whose negative falls in a band around `d_ap`, in `O(B² + T)`
//! memory for `T` triplets (never a `[B, B, B]` tensor).
//!
//! The `[B, B]` dissimilarities are read back once. Per anchor (rows in parallel on the
//! host), its negatives sorted by distance once: the negatives of a positive pair `(a, p)`
//! in a band such as `d_ap < d_an <= d_ap + m` are then a contiguous range of ranks, found by
//! binary search, and the triplets are written range by range into their place in the
//! output.

use burn::prelude::*;
use rayon::prelude::*;

use crate::Triplets;
use crate::anchor_negatives::{SortedNegatives, positives_of, read_rows};
use crate::band::Band;

/// One anchor's negatives by distance and the band's non-empty range of ranks for each
/// positive.
struct AnchorBand {
    negatives: SortedNegatives,
    /// `(positive, first rank, end rank)` in column order.
    ranges: Vec<(usize, usize, usize)>,
}

impl AnchorBand {
    fn new(anchor: usize, row: &[f32], labels: &[i64], band: Band) -> Self {
        let negatives = SortedNegatives::new(anchor, row, labels);
        let ranges = positives_of(anchor, labels)
            .map(|positive| {
                let (first, end) = band.ranks(&negatives.values, row[positive]);
                (positive, first, end)
            })
            .filter(|&(_, first, end)| end > first)
            .collect();
        Self { negatives, ranges }
    }

    fn len(&self) -> usize {
        self.ranges.iter().map(|&(_, first, end)| end - first).sum()
    }

    /// Writes the positive and negative of each of this anchor's triplets, `[len]` each.
    fn write(&self, positives: &mut [i64], negatives: &mut [i64]) {
        let mut at = 0;
        for &(positive, first, end) in &self.ranges {
            let count = end - first;
            positives[at..at + count].fill(positive as i64);
            for (out, column) in negatives[at..at + count]
                .iter_mut()
                .zip(self.negatives.columns(first..end))
            {
                *out = column as i64;
            }
            at += count;
        }
    }
}

/// Every triplet `(a, p, n)` whose `d_an` lies in the band, ordered by anchor, then
/// positive, then distance of the negative (ties by column).
///
/// dissimilarity `[batch, batch]` (smaller is closer), labels `[batch]` -> triplets.
pub(crate) fn band_triplets(
    dissimilarity: Tensor<2>,
    labels: Tensor<1, Int>,
    band: Band,
) -> Triplets {
    let device = dissimilarity.device();
    let (dissimilarity, labels) = read_rows(dissimilarity, labels);
    let batch = labels.len();
    if batch == 0 {
        return Triplets::empty();
    }
    let anchors: Vec<AnchorBand> = dissimilarity
        .par_chunks(batch)
        .enumerate()
        .map(|(anchor, row)| AnchorBand::new(anchor, row, &labels, band))
        .collect();
    let lengths: Vec<usize> = anchors.iter().map(AnchorBand::len).collect();
    let total: usize = lengths.iter().sum();
    if total == 0 {
        return Triplets::empty();
    }

    let mut columns = [vec![0i64; total], vec![0i64; total], vec![0i64; total]];
    let [anchor_column, positive_column, negative_column] = &mut columns;
    anchors
        .par_iter()
        .enumerate()
        .zip(split_rows(anchor_column, &lengths))
        .zip(split_rows(positive_column, &lengths))
        .zip(split_rows(negative_column, &lengths))
        .for_each(
            |((((anchor, band), anchor_out), positive_out), negative_out)| {
                anchor_out.fill(anchor as i64);
                band.write(positive_out, negative_out);
            },
        );
    let [anchors, positives, negatives] = columns
        .map(|values| Tensor::<1, Int>::from_data(TensorData::new(values, [total]), &device));
    Triplets::new(anchors, positives, negatives)
}

/// `values` cut into consecutive rows of `lengths` (which sum to its length).
fn split_rows<'a>(values: &'a mut [i64], lengths: &[usize]) -> Vec<&'a mut [i64]> {
    let mut rest = values;
    lengths
        .iter()
        .map(|&length| {
            let (row, tail) = std::mem::take(&mut rest).split_at_mut(length);
            rest = tail;
            row
        })
        .collect()
}
