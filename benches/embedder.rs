//! Embedder benchmark: the default `ConvEmbedder` (1×28×28 -> 64) forward alone, and
//! forward + backward of a batch-hard triplet loss, at batch 128 and 512 on each compiled
//! CPU backend: images per second and peak memory. The conv blocks are computed as the
//! trainer computes them on each backend (`siamese_train::backend::product_blocks`).
//!
//! Run: `cargo bench --bench embedder` (options as in `benches/harness`).

mod harness;

use burn::prelude::*;
use burn::tensor::Distribution;
use siamese::model::{Embedder, EmbedderConfig};
use siamese::triplet::distances::Euclidean;
use siamese::triplet::losses::TripletMarginLoss;
use siamese::triplet::miners::{BatchHardMiner, Miner};
use siamese::triplet::reducers::Reducer;

struct Embedding;

impl harness::Bench for Embedding {
    const NAME: &'static str = "embedder";
    const METHODS: &'static [&'static str] = &["forward", "forward+backward"];
    const SIZES: &'static [usize] = &[128, 512];

    fn prepare(
        device: &Device,
        backend: &str,
        method: &str,
        batch: usize,
    ) -> Box<dyn FnMut() -> usize> {
        let training = method == "forward+backward";
        let device = if training {
            device.clone().autodiff()
        } else {
            device.clone()
        };
        device.seed(1);
        let embedder = match harness::embedder_config(backend).init(&device) {
            Ok(embedder) => embedder,
            Err(error) => panic!("default configuration: {error}"),
        };
        let images = Tensor::<4>::random([batch, 1, 28, 28], Distribution::Default, &device);
        let labels = Tensor::<1, Int>::arange(0..batch as i64, &device).div_scalar(8);
        Box::new(move || {
            let embeddings = embedder.embed(images.clone());
            if training {
                let triplets =
                    BatchHardMiner::new(Euclidean::new()).mine(embeddings.clone(), labels.clone());
                let loss = TripletMarginLoss::new(0.2, Euclidean::new())
                    .with_reducer(Reducer::Mean)
                    .forward(embeddings, &triplets);
                let grads = loss.backward();
                drop(grads);
            } else {
                let _sync = embeddings.sum().into_scalar::<f32>();
            }
            batch
        })
    }
}

fn main() {
    harness::main::<Embedding>();
}
