//! The pair weights that turn a band of triplets into a weighted sum of pair distances,
//! counted on the host in `O(B²)` memory.
//!
//! For a margin loss `relu(d_ap - d_an + m)` over the triplets of a band, a triplet's term
//! is non-zero ("active") exactly when `d_an < d_ap + m`. Then
//!
//! `Σ_active (d_ap - d_an + m) = Σ_(a,p) c_ap · (d_ap + m) - Σ_(a,n) c_an · d_an`
//!
//! with `c_ap` the active negatives of the positive pair `(a, p)` and `c_an` the positives
//! `p` that make `(a, p, n)` active. Per anchor, the negatives sorted by distance once give
//! every positive's band as a range of ranks (binary searches); a difference array over
//! those ranges gives `c_an`. The work is one sort per row, `O(B² log B)`; no triplet is
//! ever listed.

use rayon::prelude::*;

use crate::anchor_negatives::{SortedNegatives, positives_of};
use crate::band::{Band, strictly_below};

/// Pair weights and triplet counts of one band.
pub(crate) struct BandWeights {
    /// `[batch, batch]` row-major: `c_ap` at positive pairs, `-c_an` at negative pairs,
    /// 0 elsewhere.
    pub weights: Vec<f32>,
    /// Triplets in the band.
    pub selected: usize,
    /// Triplets in the band whose term is non-zero (`d_an < d_ap + m`): `Σ c_ap`.
    pub active: usize,
}

/// dissimilarity `[batch, batch]` row-major (smaller is closer, finite), labels `[batch]`,
/// the band and the loss margin `m` -> weights and counts.
pub(crate) fn band_weights(
    dissimilarity: &[f32],
    labels: &[i64],
    band: Band,
    margin: f64,
) -> BandWeights {
    let batch = labels.len();
    debug_assert_eq!(dissimilarity.len(), batch * batch);
    let mut weights = vec![0.0f32; batch * batch];
    if batch == 0 {
        return BandWeights {
            weights,
            selected: 0,
            active: 0,
        };
    }
    let (selected, active) = weights
        .par_chunks_mut(batch)
        .zip(dissimilarity.par_chunks(batch))
        .enumerate()
        .map(|(anchor, (weight_row, row))| {
            anchor_weights(anchor, row, labels, band, margin as f32, weight_row)
        })
        .reduce(|| (0, 0), |x, y| (x.0 + y.0, x.1 + y.1));
    BandWeights {
        weights,
        selected,
        active,
    }
}

/// One anchor's row: fills `weights` and returns (selected, active) triplet counts.
fn anchor_weights(
    anchor: usize,
    row: &[f32],
    labels: &[i64],
    band: Band,
    margin: f32,
    weights: &mut [f32],
) -> (usize, usize) {
    let negatives = SortedNegatives::new(anchor, row, labels);
    if negatives.is_empty() {
        return (0, 0);
    }
    let sorted = &negatives.values;

    // rank_changes[r]: positives whose active range starts at rank r, minus those ending.
    let mut rank_changes = vec![0i64; sorted.len() + 1];
    let (mut selected, mut active) = (0, 0);
    for positive in positives_of(anchor, labels) {
        let d_ap = row[positive];
        let (first, end) = band.ranks(sorted, d_ap);
        // Both "in the band" and "active" keep a prefix of the sorted negatives past
        // `first`: their intersection ends at the shorter one.
        let active_end = end.min(strictly_below(sorted, d_ap + margin)).max(first);
        selected += end - first;
        active += active_end - first;
        weights[positive] = (active_end - first) as f32;
        if active_end > first {
            rank_changes[first] += 1;
            rank_changes[active_end] -= 1;
        }
    }
    let mut positives_active = 0i64;
    for (&change, column) in rank_changes
        .iter()
        .zip(negatives.columns(0..negatives.len()))
    {
        positives_active += change;
        weights[column] = -(positives_active as f32);
    }
    (selected, active)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::band::{Lower, Upper};

    /// Every triplet of a small batch, listed by brute force.
    fn brute_force(d: &[f32], labels: &[i64], band: Band, margin: f32) -> (Vec<f32>, usize, usize) {
        let batch = labels.len();
        let mut weights = vec![0.0f32; batch * batch];
        let (mut selected, mut active) = (0, 0);
        for a in 0..batch {
            for p in (0..batch).filter(|&p| p != a && labels[p] == labels[a]) {
                for n in (0..batch).filter(|&n| labels[n] != labels[a]) {
                    let (d_ap, d_an) = (d[a * batch + p], d[a * batch + n]);
                    let above = match band.lower {
                        Lower::Unbounded => true,
                        Lower::Above(o) => d_an > d_ap + o as f32,
                    };
                    let below = match band.upper {
                        Upper::Unbounded => true,
                        Upper::Below(o) => d_an < d_ap + o as f32,
                        Upper::AtMost(o) => d_an <= d_ap + o as f32,
                    };
                    if above && below {
                        selected += 1;
                        if d_an < d_ap + margin {
                            active += 1;
                            weights[a * batch + p] += 1.0;
                            weights[a * batch + n] -= 1.0;
                        }
                    }
                }
            }
        }
        (weights, selected, active)
    }

    #[test]
    fn matches_brute_force_with_ties_on_every_edge() {
        // Distances on a coarse grid so that d_an == d_ap, d_ap + m and d_ap + offset occur.
        let labels = [0, 0, 0, 1, 1, 2, 2, 2, 3];
        let batch = labels.len();
        let d: Vec<f32> = (0..batch * batch)
            .map(|i| ((i * 7919) % 9) as f32 * 0.25)
            .collect();
        let bands = [
            Band::every(),
            Band::new(Lower::Above(0.0), Upper::Below(0.5)),
            Band::new(Lower::Above(0.0), Upper::AtMost(0.5)),
            Band::new(Lower::Unbounded, Upper::AtMost(0.0)),
            Band::new(Lower::Above(0.5), Upper::Unbounded),
            Band::new(Lower::Above(0.75), Upper::Below(0.25)),
        ];
        for band in bands {
            for margin in [0.0f32, 0.25, 0.5, 1.0] {
                let expected = brute_force(&d, &labels, band, margin);
                let got = band_weights(&d, &labels, band, margin as f64);
                assert_eq!(
                    (got.weights, got.selected, got.active),
                    expected,
                    "{band:?} margin {margin}"
                );
            }
        }
    }

    #[test]
    fn one_class_and_empty_batches_weigh_nothing() {
        let got = band_weights(&[0.0; 9], &[4, 4, 4], Band::every(), 0.2);
        assert_eq!(
            (got.weights, got.selected, got.active),
            (vec![0.0; 9], 0, 0)
        );
        let got = band_weights(&[], &[], Band::every(), 0.2);
        assert_eq!((got.weights.len(), got.selected, got.active), (0, 0, 0));
    }
}
