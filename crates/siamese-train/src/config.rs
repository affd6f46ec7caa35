//! The full configuration of a training run, saved as JSON in the run directory. Every
//! command-line flag of `siamese train` has a field here.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::TrainError;
use crate::data::{DatasetSpec, Split};

/// The loss trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Triplet margin loss over the miner's triplets.
    Triplet,
    /// Contrastive loss over every pair (positive margin 0, negative margin = `margin`).
    Contrastive,
    /// Circle loss (m 0.4, γ 80) on cosine similarity.
    Circle,
    /// Multi-similarity loss (α 2, β 50, base 0.5) on cosine similarity.
    MultiSimilarity,
}

/// Which triplets the triplet loss sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MinerKind {
    /// Per anchor the farthest positive and the nearest negative (Hermans et al.), mean.
    BatchHard,
    /// Every valid triplet, mean over the active ones (never listed: `O(B²)`).
    BatchAll,
    /// FaceNet's semi-hard band `d_ap < d_an < d_ap + m`, mean over the active ones.
    SemiHard,
    /// PML's semi-hard band `0 < d_an - d_ap <= m`, mean over the active ones.
    SemiHardPml,
    /// TF-Addons' semi-hard negative per positive pair, mean over all pairs.
    SemiHardTfa,
    /// PML's `BatchEasyHardMiner`: easiest positive, semi-hard negative; mean.
    EasyHard,
    /// PML's `TripletMarginMiner("hard")`: `d_an <= d_ap`, mean over the active ones.
    Hard,
}

/// The distance embeddings are compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DistanceKind {
    /// Euclidean (L2) distance.
    Euclidean,
    /// Squared euclidean distance.
    SquaredEuclidean,
    /// Cosine similarity (larger is closer).
    Cosine,
}

/// Where tensors live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Burn's pure-Rust CPU backend (the default).
    Flex,
    /// The ndarray CPU backend.
    Ndarray,
    /// The wgpu GPU backend (needs the `wgpu` cargo feature).
    Wgpu,
}

/// How the learning rate changes over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Linear warm-up, then constant.
    Constant,
    /// Linear warm-up, then cosine decay to 1 % of the peak.
    Cosine,
}

/// Everything a training run needs; defaults are the tuned MNIST-5k run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The data.
    pub dataset: DatasetSpec,
    /// Standard (held-out examples) or class-disjoint evaluation.
    pub split: Split,
    /// The loss.
    pub loss: LossKind,
    /// The miner (triplet loss only).
    pub miner: MinerKind,
    /// The distance.
    pub distance: DistanceKind,
    /// Margin `m` (triplet), or the negative margin (contrastive).
    pub margin: f64,
    /// Softplus instead of the hinge for the triplet loss.
    pub soft_margin: bool,
    /// Embedding size.
    pub embed_dim: usize,
    /// Output channels of each conv block (image data).
    pub conv_channels: Vec<usize>,
    /// Hidden widths of the head (image data: one layer; feature data: the MLP).
    pub hidden: Vec<usize>,
    /// Batch normalisation in the conv blocks.
    pub batch_norm: bool,
    /// P: classes per batch.
    pub classes_per_batch: usize,
    /// K: examples per class in a batch.
    pub samples_per_class: usize,
    /// Optimiser steps; ignored when `epochs` is set.
    pub steps: usize,
    /// Passes over the training set (converted to steps of P × K examples).
    pub epochs: Option<f64>,
    /// Peak learning rate of Adam.
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Linear warm-up steps.
    pub warmup_steps: usize,
    /// Random shift of images by up to this many pixels (0: none).
    pub augment_shift: usize,
    /// Seed of the model initialisation, the split, the sampler and augmentation.
    pub seed: u64,
    /// The backend.
    pub backend: BackendKind,
    /// Evaluate every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Evaluate on at most this many held-out examples (and a proportional share of the
    /// kNN gallery) during training (0: all); the final evaluation always uses all.
    pub eval_subset: usize,
    /// Write a checkpoint every this many steps (0: none).
    pub checkpoint_every: usize,
    /// k of the kNN accuracy.
    pub knn_k: usize,
    /// Stop after this many non-finite steps in a row.
    pub max_nonfinite_steps: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetSpec::Mnist5k,
            split: Split::Standard,
            loss: LossKind::Triplet,
            miner: MinerKind::BatchAll,
            distance: DistanceKind::Euclidean,
            margin: 0.2,
            soft_margin: false,
            embed_dim: 64,
            conv_channels: vec![32, 64],
            hidden: vec![128],
            batch_norm: false,
            classes_per_batch: 10,
            samples_per_class: 8,
            steps: 800,
            epochs: None,
            lr: 1e-3,
            schedule: Schedule::Cosine,
            warmup_steps: 50,
            augment_shift: 2,
            seed: 42,
            backend: BackendKind::Flex,
            eval_every: 400,
            eval_subset: 0,
            checkpoint_every: 200,
            knn_k: 1,
            max_nonfinite_steps: 10,
        }
    }
}

impl TrainConfig {
    /// The tuned defaults for `dataset` and `split`: [`TrainConfig::default`] (the MNIST-5k
    /// run) with the schedule and network adapted to the data (docs/training.md gives the
    /// numbers).
    ///
    /// - Fashion-MNIST: batch-normalised conv blocks, no augmentation (60,000 images and
    ///   about 9 epochs leave nothing to gain from shifts, which cost accuracy in the tuning
    ///   runs), 6,500 steps (about 14 minutes on 2 cores with evaluation), intermediate
    ///   evaluations on 2,000 test images every 2,500 steps, a checkpoint every 500 steps.
    /// - Everything else: the MNIST-5k defaults.
    /// - A class-disjoint split trains on half the classes: P × K = 5 × 16 keeps the batch
    ///   at 80 examples.
    pub fn for_dataset(dataset: DatasetSpec, split: Split) -> Self {
        let defaults = match split {
            Split::Standard => Self::default(),
            Split::Disjoint => Self {
                split,
                classes_per_batch: 5,
                samples_per_class: 16,
                ..Self::default()
            },
        };
        match dataset {
            DatasetSpec::FashionMnist { .. } => Self {
                dataset,
                batch_norm: true,
                augment_shift: 0,
                steps: 6500,
                eval_every: 2500,
                eval_subset: 2000,
                checkpoint_every: 500,
                ..defaults
            },
            dataset => Self {
                dataset,
                ..defaults
            },
        }
    }

    /// Reads a configuration file; unknown fields and wrong types are errors naming the file.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            TrainError::run(path, format!("cannot read the configuration: {error}"))
        })?;
        Self::from_json(&text, path)
    }

    /// Parses and validates the JSON `text` of the configuration file `path`.
    pub fn from_json(text: &str, path: &Path) -> Result<Self, TrainError> {
        let config: TrainConfig = serde_json::from_str(text).map_err(|error| {
            TrainError::run(path, format!("not a valid training configuration: {error}"))
        })?;
        config
            .validate()
            .map_err(|error| TrainError::run(path, error.to_string()))?;
        Ok(config)
    }

    /// The configuration as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
    }

    /// Rejects values that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let invalid = |message: String| Err(TrainError::Config(message));
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return invalid(format!(
                "margin {} must be a finite number ≥ 0",
                self.margin
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return invalid(format!("lr {} must be a finite number > 0", self.lr));
        }
        if self.embed_dim == 0 {
            return invalid("embed_dim must be at least 1".into());
        }
        if self.classes_per_batch < 2 {
            return invalid(format!(
                "classes_per_batch {} must be at least 2",
                self.classes_per_batch
            ));
        }
        if self.samples_per_class < 2 {
            return invalid(format!(
                "samples_per_class {} must be at least 2",
                self.samples_per_class
            ));
        }
        if let Some(epochs) = self.epochs {
            if !(epochs.is_finite() && epochs > 0.0) {
                return invalid(format!("epochs {epochs} must be a finite number > 0"));
            }
        } else if self.steps == 0 {
            return invalid("steps must be at least 1".into());
        }
        if self.knn_k == 0 {
            return invalid("knn_k must be at least 1".into());
        }
        if self.max_nonfinite_steps == 0 {
            return invalid("max_nonfinite_steps must be at least 1".into());
        }
        Ok(())
    }

    /// Optimiser steps of the run, for a training set of `train_len` examples.
    pub fn total_steps(&self, train_len: usize) -> usize {
        match self.epochs {
            Some(epochs) => {
                let batch = (self.classes_per_batch * self.samples_per_class).max(1);
                ((epochs * train_len as f64) / batch as f64).ceil().max(1.0) as usize
            }
            None => self.steps,
        }
    }

    /// Learning rate at `step` (0-based) of `total`.
    pub fn learning_rate(&self, step: usize, total: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Cosine => {
                let span = total.saturating_sub(self.warmup_steps).max(1) as f64;
                let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
                let floor = 0.01 * self.lr;
                floor + (self.lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

/// The names of each choice, as on the command line and in `config.json`.
pub mod names {
    /// `--loss`.
    pub const LOSSES: &[&str] = &["triplet", "contrastive", "circle", "multi-similarity"];
    /// `--miner`.
    pub const MINERS: &[&str] = &[
        "batch-hard",
        "batch-all",
        "semi-hard",
        "semi-hard-pml",
        "semi-hard-tfa",
        "easy-hard",
        "hard",
    ];
    /// `--distance`.
    pub const DISTANCES: &[&str] = &["euclidean", "squared-euclidean", "cosine"];
    /// `--backend`.
    pub const BACKENDS: &[&str] = &["flex", "ndarray", "wgpu"];
    /// `--schedule`.
    pub const SCHEDULES: &[&str] = &["constant", "cosine"];
    /// `--split`.
    pub const SPLITS: &[&str] = &["standard", "disjoint"];
}

/// Parses a kebab-case name (as on the command line) into one of the enums above.
pub fn parse_name<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}
