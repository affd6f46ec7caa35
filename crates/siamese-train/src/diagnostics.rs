//! What the trainer records each step and at each evaluation (JSON lines in the run
//! directory), and the statistics behind it.

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use siamese_triplet::LabelMasks;
use siamese_triplet::distances::Distance;
use siamese_triplet::metrics::TripletClasses;

/// Reads back a float of a record: serde_json writes NaN and ±∞ as `null` (a skipped,
/// non-finite step), which reads back as NaN.
fn float_or_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// One optimiser step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step number, from 1.
    pub step: usize,
    /// The batch loss.
    #[serde(deserialize_with = "float_or_null")]
    pub loss: f64,
    /// Fraction of the batch's valid triplets with `d_an < d_ap + m` (a non-zero hinge).
    #[serde(deserialize_with = "float_or_null")]
    pub active_fraction: f64,
    /// FaceNet easy fraction, `d_an > d_ap + m`.
    #[serde(deserialize_with = "float_or_null")]
    pub easy_fraction: f64,
    /// FaceNet semi-hard fraction, `d_ap < d_an < d_ap + m`.
    #[serde(deserialize_with = "float_or_null")]
    pub semi_hard_fraction: f64,
    /// FaceNet hard fraction, `d_an < d_ap`.
    #[serde(deserialize_with = "float_or_null")]
    pub hard_fraction: f64,
    /// Triplets the miner returned (listing miners only).
    pub mined_triplets: Option<usize>,
    /// Mean distance (or similarity) of positive pairs.
    #[serde(deserialize_with = "float_or_null")]
    pub mean_positive_distance: f64,
    /// Mean distance (or similarity) of negative pairs.
    #[serde(deserialize_with = "float_or_null")]
    pub mean_negative_distance: f64,
    /// Mean L2 norm of the embeddings.
    #[serde(deserialize_with = "float_or_null")]
    pub mean_embedding_norm: f64,
    /// Global L2 norm of the parameter gradients.
    #[serde(deserialize_with = "float_or_null")]
    pub gradient_norm: f64,
    /// Learning rate used.
    #[serde(deserialize_with = "float_or_null")]
    pub lr: f64,
    /// Training examples per second over this step.
    #[serde(deserialize_with = "float_or_null")]
    pub images_per_second: f64,
    /// `true` when the step was skipped for a non-finite loss or gradient.
    pub skipped: bool,
}

/// One evaluation on the held-out set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Step after which it ran.
    pub step: usize,
    /// precision@1 (held-out set as query and reference).
    #[serde(deserialize_with = "float_or_null")]
    pub precision_at_1: f64,
    /// R-precision.
    #[serde(deserialize_with = "float_or_null")]
    pub r_precision: f64,
    /// MAP@R.
    #[serde(deserialize_with = "float_or_null")]
    pub mean_average_precision_at_r: f64,
    /// kNN accuracy of held-out queries against the gallery.
    #[serde(deserialize_with = "float_or_null")]
    pub knn_accuracy: f64,
    /// Held-out queries evaluated.
    pub queries: usize,
}

/// A line of `diagnostics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Record {
    /// A training step.
    Step(StepRecord),
    /// An evaluation.
    Eval(EvalRecord),
}

impl Record {
    /// The step the record belongs to.
    pub fn step(&self) -> usize {
        match self {
            Record::Step(record) => record.step,
            Record::Eval(record) => record.step,
        }
    }
}

/// Batch statistics computed from the (detached) embeddings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchStatistics {
    /// Triplet classes at the run's margin.
    pub classes: TripletClasses,
    /// Mean positive-pair value.
    pub mean_positive: f64,
    /// Mean negative-pair value.
    pub mean_negative: f64,
    /// Mean embedding norm.
    pub mean_norm: f64,
}

/// embeddings `[batch, dim]`, labels `[batch]` -> statistics under `distance` and `margin`.
pub fn batch_statistics(
    distance: &dyn Distance,
    margin: f64,
    embeddings: Tensor<2>,
    labels: Tensor<1, Int>,
) -> BatchStatistics {
    let embeddings = embeddings.detach();
    let masks = LabelMasks::new(labels);
    let values = distance.pairwise(embeddings.clone());
    let dissimilarity = if distance.smaller_is_closer() {
        values.clone()
    } else {
        values.clone().neg()
    };
    let classes = TripletClasses::from_dissimilarity(dissimilarity, &masks, margin);
    let masked_mean = |mask: Tensor<2, Bool>| {
        let count = mask.clone().float().sum().into_scalar::<f32>();
        let total = values
            .clone()
            .mask_fill(mask.bool_not(), 0.0)
            .sum()
            .into_scalar::<f32>();
        if count > 0.0 {
            f64::from(total / count)
        } else {
            0.0
        }
    };
    let mean_positive = masked_mean(masks.positive.clone());
    let mean_negative = masked_mean(masks.negative.clone());
    let mean_norm = f64::from(
        embeddings
            .square()
            .sum_dim(1)
            .sqrt()
            .mean()
            .into_scalar::<f32>(),
    );
    BatchStatistics {
        classes,
        mean_positive,
        mean_negative,
        mean_norm,
    }
}
