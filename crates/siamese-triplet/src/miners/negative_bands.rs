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
use crate::band::Band;
use crate::host::{read_floats, read_ints};
use crate::sort_key::{key_column, sorted_negative_keys};

/// One anchor's negatives by distance and the band's range of ranks for each positive.
struct AnchorBand {
    /// Keys of the negatives, nearest first.
    negatives: Vec<u64>,
    /// `(positive, first rank, end rank)` in column order.
    ranges: Vec<(usize, usize, usize)>,
}

impl AnchorBand {
    fn new(anchor: usize, row: &[f32], labels: &[i64], band: Band) -> Self {
        let negatives = sorted_negative_keys(anchor, row, labels);
        let sorted: Vec<f32> = negatives.iter().map(|&key| row[key_column(key)]).collect();
        let ranges = labels
            .iter()
            .enumerate()
            .filter(|&(column, &other)| other == labels[anchor] && column != anchor)
            .map(|(positive, _)| {
                let (first, end) = band.ranks(&sorted, row[positive]);
                (positive, first, end)
            })
            .filter(|&(_, first, end)| end > first)
            .collect();
        Self { negatives, ranges }
    }

    fn len(&self) -> usize {
        self.ranges.iter().map(|&(_, first, end)| end - first).sum()
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
    let labels = read_ints(labels);
    let batch = labels.len();
    if batch == 0 {
        return Triplets::empty();
    }
    let dissimilarity = read_floats(dissimilarity);
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
                let mut at = 0;
                for &(positive, first, end) in &band.ranges {
                    let count = end - first;
                    positive_out[at..at + count].fill(positive as i64);
                    for (out, &key) in negative_out[at..at + count]
                        .iter_mut()
                        .zip(&band.negatives[first..end])
                    {
                        *out = key_column(key) as i64;
                    }
                    at += count;
                }
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
