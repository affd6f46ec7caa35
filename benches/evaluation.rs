//! Evaluation benchmark: retrieval metrics (precision@1, R-precision, MAP@R; the set is
//! both query and reference set, each item excluded from its own neighbours) over N items.
//!
//! Methods: `retrieval` — the metrics of N seeded class-clustered unit vectors (64-d,
//! classes of 1,000, as `bench/peer/peer.py eval` generates them for PML's
//! `AccuracyCalculator`); `embed+retrieval` — N seeded random 1×28×28 images through the
//! default embedder (batches of 500), then the same metrics. Each step reports the metric
//! values with its measurement, so `bench/peer/compare.py` can check them against PML's.
//!
//! Run: `cargo bench --bench evaluation [-- --sizes 10000 --backends flex]`.

mod harness;

use burn::prelude::*;
use burn::tensor::Distribution;
use serde_json::json;
use siamese::model::{ConvEmbedderConfig, Embedder, EmbedderConfig};
use siamese::triplet::distances::Euclidean;
use siamese::triplet::metrics::retrieval_metrics;

const DIM: usize = 64;
const PER_CLASS: usize = 1000;
const EMBED_BATCH: usize = 500;

struct Evaluation;

impl harness::Bench for Evaluation {
    const NAME: &'static str = "evaluation";
    const METHODS: &'static [&'static str] = &["retrieval", "embed+retrieval"];
    const SIZES: &'static [usize] = &[10_000];

    fn prepare(
        device: &Device,
        _backend: &str,
        method: &str,
        items: usize,
    ) -> Box<dyn FnMut() -> usize> {
        let device = device.clone();
        let (rows, labels) = harness::clustered_unit_vectors(items, DIM, PER_CLASS);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [items]), &device);
        let distance = Euclidean::new();
        let report = move |embeddings: Tensor<2>, labels: Tensor<1, Int>| {
            let metrics = retrieval_metrics(&distance, embeddings, labels);
            harness::report_values(json!({
                "precision_at_1": metrics.precision_at_1,
                "r_precision": metrics.r_precision,
                "mean_average_precision_at_r": metrics.mean_average_precision_at_r,
            }));
        };
        match method {
            "retrieval" => {
                let embeddings =
                    Tensor::<2>::from_data(TensorData::new(rows, [items, DIM]), &device);
                Box::new(move || {
                    report(embeddings.clone(), labels.clone());
                    items
                })
            }
            "embed+retrieval" => {
                device.seed(1);
                let embedder = match ConvEmbedderConfig::new().init(&device) {
                    Ok(embedder) => embedder,
                    Err(error) => panic!("default configuration: {error}"),
                };
                let images =
                    Tensor::<4>::random([items, 1, 28, 28], Distribution::Default, &device);
                Box::new(move || {
                    let embeddings = (0..items)
                        .step_by(EMBED_BATCH)
                        .map(|start| {
                            let end = (start + EMBED_BATCH).min(items);
                            embedder.embed(images.clone().slice(start..end))
                        })
                        .collect();
                    report(Tensor::cat(embeddings, 0), labels.clone());
                    items
                })
            }
            other => panic!("unknown method {other:?}: retrieval or embed+retrieval"),
        }
    }
}

fn main() {
    harness::main::<Evaluation>();
}
