//! Which of a query's `k` nearest references are relevant, nearest first, found on the host:
//! Burn has no top-k, and sorting whole rows of a `[queries, references]` block on the
//! device costs several times more than selecting the `k` nearest of each row (what
//! `torch.topk` does for PML).

use crate::sort_key::{key_column, sort_key};

/// The row `[columns]` of one query's dissimilarities (smaller is closer) -> `hits[i]`:
/// whether the `i`-th nearest reference is relevant, for `i < k`, nearest first. `excluded`
/// (the query itself) is never a neighbour; `k` is at most the number of other columns.
/// Exactly equal dissimilarities are ordered by column, NaNs as `f32::total_cmp` orders
/// them (a positive NaN last). Columns must fit in 32 bits.
///
/// `keys` is scratch space, reused across rows.
pub(crate) fn nearest_relevance(
    row: &[f32],
    excluded: Option<usize>,
    k: usize,
    relevant: impl Fn(usize) -> bool,
    keys: &mut Vec<u64>,
    hits: &mut Vec<bool>,
) {
    keys.clear();
    keys.extend(
        row.iter()
            .enumerate()
            .filter(|&(column, _)| Some(column) != excluded)
            .map(|(column, &value)| sort_key(value, column)),
    );
    let k = k.min(keys.len());
    hits.clear();
    if k == 0 {
        return;
    }
    // The k smallest keys first (unordered), then ordered.
    if k < keys.len() {
        keys.select_nth_unstable(k - 1);
    }
    let nearest = &mut keys[..k];
    nearest.sort_unstable();
    hits.extend(nearest.iter().map(|&key| relevant(key_column(key))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_the_nearest_in_order_without_the_excluded_column() {
        let row = [0.5, 0.0, 0.3, 0.1, 0.3, 0.9];
        let relevant = |column: usize| column.is_multiple_of(2);
        let (mut keys, mut hits) = (Vec::new(), Vec::new());
        // Nearest first without column 1: 3 (0.1), 2 (0.3), 4 (0.3), 0 (0.5), 5 (0.9).
        nearest_relevance(&row, Some(1), 4, relevant, &mut keys, &mut hits);
        assert_eq!(hits, [false, true, true, true]);
        nearest_relevance(&row, None, 2, relevant, &mut keys, &mut hits);
        assert_eq!(hits, [false, false]);
        nearest_relevance(&row, Some(1), 9, relevant, &mut keys, &mut hits);
        assert_eq!(hits, [false, true, true, true, false]);
        nearest_relevance(&row, None, 0, relevant, &mut keys, &mut hits);
        assert!(hits.is_empty());
    }
}
