//! P×K class-balanced batches: P classes, K examples of each.

use serde::{Deserialize, Serialize};

use crate::TrainError;
use crate::rng::SplitMix64;

/// Draws batches of `classes_per_batch` (P) distinct classes with `samples_per_class` (K)
/// examples each, so every anchor has positives and negatives in its batch.
///
/// A class with fewer than K examples is sampled with replacement
/// ([`PkSampler::classes_with_replacement`] lists them); otherwise without. The whole
/// state is one seeded generator, so a checkpoint resumes the same batch sequence.
#[derive(Debug, Clone)]
pub struct PkSampler {
    classes_per_batch: usize,
    samples_per_class: usize,
    /// Example indices of every class that has examples.
    members: Vec<Vec<usize>>,
    rng: SplitMix64,
}

/// What a checkpoint keeps of a sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplerState {
    /// The generator.
    pub rng: SplitMix64,
}

impl PkSampler {
    /// A sampler over examples with these `labels`.
    pub fn new(
        labels: &[usize],
        classes_per_batch: usize,
        samples_per_class: usize,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let classes = labels.iter().copied().max().map_or(0, |max| max + 1);
        let mut members = vec![Vec::new(); classes];
        for (index, &label) in labels.iter().enumerate() {
            members[label].push(index);
        }
        members.retain(|indices| !indices.is_empty());
        if members.len() < 2 {
            return Err(TrainError::Config(format!(
                "the training set has {} class(es) with examples; P×K batches need at least 2",
                members.len()
            )));
        }
        if classes_per_batch < 2 {
            return Err(TrainError::Config(format!(
                "classes per batch is {classes_per_batch}; at least 2 are needed for negatives"
            )));
        }
        if samples_per_class < 2 {
            return Err(TrainError::Config(format!(
                "samples per class is {samples_per_class}; at least 2 are needed for positives"
            )));
        }
        if classes_per_batch > members.len() {
            return Err(TrainError::Config(format!(
                "classes per batch is {classes_per_batch} but the training set has only {} classes",
                members.len()
            )));
        }
        Ok(Self {
            classes_per_batch,
            samples_per_class,
            members,
            rng: SplitMix64::new(seed),
        })
    }

    /// Examples per batch, P × K.
    pub fn batch_size(&self) -> usize {
        self.classes_per_batch * self.samples_per_class
    }

    /// Indices (into the labels given to [`PkSampler::new`]) of classes with fewer than K
    /// examples, which are sampled with replacement.
    pub fn classes_with_replacement(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&class| self.members[class].len() < self.samples_per_class)
            .collect()
    }

    /// The next batch: P × K example indices, grouped by class.
    pub fn next_batch(&mut self) -> Vec<usize> {
        let mut classes: Vec<usize> = (0..self.members.len()).collect();
        // Partial Fisher–Yates: the first P entries become a uniform sample of classes.
        for i in 0..self.classes_per_batch {
            let j = i + self.rng.below(classes.len() - i);
            classes.swap(i, j);
        }
        let mut batch = Vec::with_capacity(self.batch_size());
        for &class in &classes[..self.classes_per_batch] {
            let members = &self.members[class];
            if members.len() < self.samples_per_class {
                for _ in 0..self.samples_per_class {
                    batch.push(members[self.rng.below(members.len())]);
                }
            } else {
                let mut pool = members.clone();
                for i in 0..self.samples_per_class {
                    let j = i + self.rng.below(pool.len() - i);
                    pool.swap(i, j);
                    batch.push(pool[i]);
                }
            }
        }
        batch
    }

    /// The state a checkpoint keeps.
    pub fn state(&self) -> SamplerState {
        SamplerState { rng: self.rng }
    }

    /// Continues from a checkpointed state.
    pub fn restore(&mut self, state: SamplerState) {
        self.rng = state.rng;
    }
}
