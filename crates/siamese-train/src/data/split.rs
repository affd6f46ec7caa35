//! Training / evaluation splits.

use serde::{Deserialize, Serialize};

use super::ExampleSet;
use crate::DataError;
use crate::rng::SplitMix64;

/// How classes are divided between training and evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// Every class in both: held-out examples of the training classes.
    #[default]
    Standard,
    /// Class-disjoint: train on the first half of the classes (0–4 of 10), evaluate on the
    /// other half, which the model never saw.
    Disjoint,
}

/// The sets of one run.
#[derive(Debug, Clone)]
pub struct Splits {
    /// What the model trains on.
    pub train: ExampleSet,
    /// Held-out queries, also their own reference set for retrieval metrics.
    pub eval: ExampleSet,
    /// References for kNN accuracy: the training set, or for a disjoint split the
    /// training-part examples of the evaluation classes (never trained on).
    pub gallery: ExampleSet,
}

/// Seeded stratified split: in each class, a shuffled `eval_fraction` (rounded) goes to
/// evaluation and the rest to training. Returns `(train, eval)`.
pub fn stratified(set: &ExampleSet, eval_fraction: f64, seed: u64) -> (ExampleSet, ExampleSet) {
    let mut rng = SplitMix64::new(seed ^ 0x5717);
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for class in 0..set.class_names().len() {
        let mut members: Vec<usize> = (0..set.len())
            .filter(|&i| set.labels()[i] == class)
            .collect();
        rng.shuffle(&mut members);
        let held_out = ((members.len() as f64) * eval_fraction).round() as usize;
        let held_out = if members.len() > 1 {
            held_out.min(members.len() - 1)
        } else {
            0
        };
        eval.extend_from_slice(&members[..held_out]);
        train.extend_from_slice(&members[held_out..]);
    }
    train.sort_unstable();
    eval.sort_unstable();
    (set.subset(&train), set.subset(&eval))
}

/// Builds the run's sets from a training and a test part.
pub fn split(train: ExampleSet, test: ExampleSet, kind: Split) -> Result<Splits, DataError> {
    let splits = match kind {
        Split::Standard => Splits {
            gallery: train.clone(),
            train,
            eval: test,
        },
        Split::Disjoint => {
            let classes = train.class_names().len();
            let first_unseen = classes.div_ceil(2);
            Splits {
                gallery: train.filter_classes(|label| label >= first_unseen),
                train: train.filter_classes(|label| label < first_unseen),
                eval: test.filter_classes(|label| label >= first_unseen),
            }
        }
    };
    let training_classes = splits
        .train
        .class_counts()
        .iter()
        .filter(|&&count| count > 0)
        .count();
    if training_classes < 2 {
        return Err(DataError::Unusable(format!(
            "the training set has {training_classes} class(es) with examples; triplet training needs at least 2"
        )));
    }
    if splits.eval.is_empty() {
        return Err(DataError::Unusable(
            "the evaluation set is empty: too few examples to hold any out".into(),
        ));
    }
    Ok(splits)
}
