//! Backend parity. From one initial record and one fixed sequence of batches, every compiled
//! backend trains to flex's losses over several Adam steps; on one fixed embedding set,
//! every backend gives flex's retrieval metrics. The backend is the first word of each
//! test's name.

mod common;

use burn::data::dataloader::batcher::Batcher;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use siamese::model::{ConvEmbedder, ConvEmbedderConfig, EmbedderConfig, Siamese};
use siamese::train::TrainConfig;
use siamese::train::backend::backend_device;
use siamese::train::batcher::{BatchInput, ExampleBatcher};
use siamese::train::config::BackendKind;
use siamese::train::data::{DatasetSpec, Example, InputShape, Split};
use siamese::train::objective::Objective;
use siamese::train::rng::SplitMix64;
use siamese::train::sampler::PkSampler;
use siamese::triplet::distances::Euclidean;
use siamese::triplet::metrics::{knn_accuracy, retrieval_metrics};

/// Adam steps compared.
const STEPS: usize = 5;
/// Largest loss difference from flex (float rounding in a different order is ~1e-7).
const LOSS_TOLERANCE: f32 = 1e-5;
const SHAPE: InputShape = InputShape::Image {
    channels: 1,
    height: 28,
    width: 28,
};

/// The batches (4 classes × 4 MNIST digits each) and, in `weights`, one initial record.
fn fixed_run(weights: &std::path::Path) -> Vec<Vec<Example>> {
    let splits = DatasetSpec::Mnist5k
        .load(Split::Standard, 42)
        .expect("the embedded MNIST subset loads");
    let mut sampler = PkSampler::new(splits.train.labels(), 4, 4, 42).expect("sampler");
    // MNIST's blank background makes exact ties in the 2×2 max-pools (every position of a
    // blank window holds the first conv's bias), and backends route a tie's gradient to
    // different, equally valid positions; faint noise removes the ties so that the
    // comparison is about arithmetic.
    let mut noise = SplitMix64::new(3);
    let batches = (0..STEPS)
        .map(|_| {
            sampler
                .next_batch()
                .into_iter()
                .map(|index| Example {
                    values: splits
                        .train
                        .values(index)
                        .iter()
                        .map(|&pixel| {
                            pixel + 0.01 * (noise.next_u64() >> 40) as f32 / (1u64 << 24) as f32
                        })
                        .collect(),
                    label: splits.train.labels()[index],
                })
                .collect()
        })
        .collect();
    let flex = backend_device(BackendKind::Flex).expect("flex");
    flex.seed(7);
    let embedder = ConvEmbedderConfig::new()
        .init(&flex)
        .expect("default embedder");
    Siamese::new(embedder)
        .save_dir(weights)
        .expect("initial record saved");
    batches
}

/// The loss of each step, training the record in `weights` on `device` with the default
/// objective (batch-hard triplet loss, margin 0.2, euclidean) and Adam.
fn losses_on(device: &Device, weights: &std::path::Path, batches: &[Vec<Example>]) -> Vec<f32> {
    let device = device.clone().autodiff();
    let mut model = Siamese::<ConvEmbedder>::load_dir(weights, &device).expect("record loads");
    let mut optimizer = AdamConfig::new().init();
    let objective = Objective::new(&TrainConfig::default());
    let mut losses = Vec::new();
    for items in batches {
        let batch = ExampleBatcher { shape: SHAPE }.batch(items.clone(), &device);
        let embeddings = model.embed(ConvEmbedder::input(batch.values, SHAPE));
        let loss = objective.compute(embeddings, batch.labels).loss;
        losses.push(loss.clone().into_scalar::<f32>());
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, gradients);
    }
    losses
}

fn assert_losses_match_flex(device: &Device) {
    let weights = tempfile::tempdir().expect("temporary directory");
    let batches = fixed_run(weights.path());
    let flex = backend_device(BackendKind::Flex).expect("flex");
    let reference = losses_on(&flex, weights.path(), &batches);
    let losses = losses_on(device, weights.path(), &batches);
    assert!(
        reference.iter().all(|loss| *loss > 0.0),
        "the batches must have something to learn from: {reference:?}"
    );
    assert!(
        reference.first() != reference.last(),
        "the steps must change the model: {reference:?}"
    );
    for (step, (loss, expected)) in losses.iter().zip(&reference).enumerate() {
        assert!(
            (loss - expected).abs() <= LOSS_TOLERANCE,
            "step {step}: loss {loss} vs flex {expected}\nall: {losses:?}\nflex: {reference:?}"
        );
    }
}

/// Items per class and classes of the fixed embedding set.
const PER_CLASS: usize = 10;
const CLASSES: usize = 12;
const DIM: usize = 8;
/// No two neighbours of different relevance are closer than this in any query's ranking,
/// so float rounding on any backend cannot reorder them.
const MIN_GAP: f64 = 1e-4;

/// Overlapping Gaussian-ish class clusters (so the metrics are neither 0 nor 1), from the
/// first seed whose rankings have no near-ties between a relevant and an irrelevant item.
fn fixed_embeddings() -> (Vec<f32>, Vec<i64>) {
    (0..100u64)
        .map(|seed| {
            let mut rng = SplitMix64::new(seed);
            let mut uniform = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let centres: Vec<Vec<f64>> = (0..CLASSES)
                .map(|_| (0..DIM).map(|_| uniform() * 2.0).collect())
                .collect();
            let mut values = Vec::new();
            let mut labels = Vec::new();
            for (class, centre) in centres.iter().enumerate() {
                for _ in 0..PER_CLASS {
                    values.extend(centre.iter().map(|c| c + uniform() - 0.5));
                    labels.push(class as i64);
                }
            }
            (values, labels)
        })
        .find(|(values, labels)| well_separated(values, labels))
        .map(|(values, labels)| (values.iter().map(|&v| v as f32).collect(), labels))
        .expect("a seed without near-ties")
}

fn well_separated(values: &[f64], labels: &[i64]) -> bool {
    let rows: Vec<&[f64]> = values.chunks(DIM).collect();
    rows.iter().enumerate().all(|(query, a)| {
        let mut ranked: Vec<(f64, bool)> = rows
            .iter()
            .enumerate()
            .filter(|(other, _)| *other != query)
            .map(|(other, b)| {
                let squared: f64 = a.iter().zip(*b).map(|(x, y)| (x - y) * (x - y)).sum();
                (squared.sqrt(), labels[other] == labels[query])
            })
            .collect();
        ranked.sort_by(|x, y| x.0.total_cmp(&y.0));
        ranked
            .windows(2)
            .all(|pair| pair[0].1 == pair[1].1 || pair[1].0 - pair[0].0 > MIN_GAP)
    })
}

/// precision@1, R-precision, MAP@R and 5-NN accuracy of the fixed set on `device`.
fn metrics_on(device: &Device) -> [f64; 4] {
    let (values, labels) = fixed_embeddings();
    let n = labels.len();
    let embeddings = Tensor::<2>::from_data(TensorData::new(values, [n, DIM]), device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
    let distance = Euclidean::new();
    let retrieval = retrieval_metrics(&distance, embeddings.clone(), labels.clone());
    // Each item against the whole set, itself included: its own zero distance is the first
    // neighbour, so 5-NN votes with four others.
    let knn = knn_accuracy(
        &distance,
        embeddings.clone(),
        labels.clone(),
        embeddings,
        labels,
        5,
    );
    [
        retrieval.precision_at_1,
        retrieval.r_precision,
        retrieval.mean_average_precision_at_r,
        knn,
    ]
}

fn assert_metrics_match_flex(device: &Device) {
    let flex = backend_device(BackendKind::Flex).expect("flex");
    let reference = metrics_on(&flex);
    assert!(
        reference
            .iter()
            .all(|metric| *metric > 0.2 && *metric < 0.99),
        "the fixed set should be neither trivial nor hopeless: {reference:?}"
    );
    let metrics = metrics_on(device);
    for (metric, expected) in metrics.iter().zip(&reference) {
        assert!(
            (metric - expected).abs() <= 1e-9,
            "{metrics:?} vs flex {reference:?}"
        );
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_losses_match_flex_over_adam_steps() {
    assert_losses_match_flex(&backend_device(BackendKind::Ndarray).expect("ndarray"));
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_retrieval_metrics_match_flex() {
    assert_metrics_match_flex(&backend_device(BackendKind::Ndarray).expect("ndarray"));
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_losses_match_flex_over_adam_steps() {
    if let Some(device) = common::wgpu::test_device() {
        assert_losses_match_flex(&device);
    }
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_retrieval_metrics_match_flex() {
    if let Some(device) = common::wgpu::test_device() {
        assert_metrics_match_flex(&device);
    }
}
