//! Mined triplets as index tensors.

use burn::prelude::*;

use crate::host::read_ints;

/// Triplets `(anchor, positive, negative)` as row indices into one batch of embeddings.
///
/// Miners produce them and every triplet loss accepts them. Each index tensor is `[len]`;
/// an empty set holds no tensors at all (Burn tensors with a zero dimension are avoided).
#[derive(Debug, Clone)]
pub struct Triplets {
    indices: Option<TripletIndices>,
}

#[derive(Debug, Clone)]
struct TripletIndices {
    anchors: Tensor<1, Int>,
    positives: Tensor<1, Int>,
    negatives: Tensor<1, Int>,
    len: usize,
}

impl Triplets {
    /// anchors, positives, negatives `[len]` each.
    ///
    /// # Panics
    /// If the three tensors differ in length.
    pub fn new(
        anchors: Tensor<1, Int>,
        positives: Tensor<1, Int>,
        negatives: Tensor<1, Int>,
    ) -> Self {
        let [len] = anchors.dims();
        assert!(
            positives.dims() == [len] && negatives.dims() == [len],
            "triplet index tensors must have equal lengths, got anchors {:?}, positives {:?}, negatives {:?}",
            anchors.dims(),
            positives.dims(),
            negatives.dims()
        );
        if len == 0 {
            return Self::empty();
        }
        Self {
            indices: Some(TripletIndices {
                anchors,
                positives,
                negatives,
                len,
            }),
        }
    }

    /// No triplet.
    pub fn empty() -> Self {
        Self { indices: None }
    }

    /// Number of triplets.
    pub fn len(&self) -> usize {
        self.indices.as_ref().map_or(0, |indices| indices.len)
    }

    /// `true` when there is no triplet.
    pub fn is_empty(&self) -> bool {
        self.indices.is_none()
    }

    /// `(anchors, positives, negatives)`, `[len]` each, or `None` when empty.
    pub fn indices(&self) -> Option<(&Tensor<1, Int>, &Tensor<1, Int>, &Tensor<1, Int>)> {
        self.indices
            .as_ref()
            .map(|indices| (&indices.anchors, &indices.positives, &indices.negatives))
    }

    /// The triplets copied to the host, sorted, as `[anchor, positive, negative]` rows.
    pub fn to_sorted_vec(&self) -> Vec<[i64; 3]> {
        let Some((anchors, positives, negatives)) = self.indices() else {
            return Vec::new();
        };
        let (anchors, positives, negatives) = (
            read_ints(anchors.clone()),
            read_ints(positives.clone()),
            read_ints(negatives.clone()),
        );
        let mut rows: Vec<[i64; 3]> = anchors
            .into_iter()
            .zip(positives)
            .zip(negatives)
            .map(|((a, p), n)| [a, p, n])
            .collect();
        rows.sort_unstable();
        rows
    }
}
