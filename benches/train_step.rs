//! Training-step benchmark: one whole step of the default embedder — forward, batch-hard
//! mining, triplet margin loss (margin 0.2, euclidean, mean over the mined triplets),
//! backward, Adam (lr 1e-3) — on batches of seeded random 1×28×28 images in classes of 8
//! (P = B / 8, K = 8), at batch 128 and 512 on each backend asked for: images per second
//! and peak memory. This is the configuration `bench/peer/peer.py train-step` runs in
//! PyTorch + PML.
//!
//! Methods: `batch-hard` computes the conv blocks as the trainer does on that backend (the
//! fused kernel of `siamese_model::flex_conv_pool` on flex; matrix products on ndarray and
//! wgpu: see `siamese_train::backend::product_blocks`); `batch-hard-no-flex-kernel` does
//! the same without the fused kernel (on flex: the first block as matrix products, the
//! second with Burn's ops); `batch-hard-burn-ops` uses Burn's `conv2d` and `max_pool2d` in
//! every block.
//!
//! Run: `cargo bench --bench train_step [-- --backends flex,ndarray,wgpu --sizes 128]`
//! (wgpu needs `--features wgpu`). Threads: flex and ndarray use rayon's global pool, so
//! `RAYON_NUM_THREADS=1` gives one thread; the `cpu` column (CPU seconds per wall second of
//! the timed steps) shows whether it was honoured.

mod harness;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use siamese::model::{ConvEmbedderConfig, EmbedderConfig, Siamese};
use siamese::triplet::distances::Euclidean;
use siamese::triplet::losses::TripletMarginLoss;
use siamese::triplet::miners::{BatchHardMiner, Miner};
use siamese::triplet::reducers::Reducer;

/// Distinct batches cycled through (each built once, before timing).
const BATCHES: usize = 4;

struct TrainStep;

impl harness::Bench for TrainStep {
    const NAME: &'static str = "train-step";
    const METHODS: &'static [&'static str] = &["batch-hard"];
    const SIZES: &'static [usize] = &[128, 512];

    fn prepare(
        device: &Device,
        backend: &str,
        method: &str,
        batch: usize,
    ) -> Box<dyn FnMut() -> usize> {
        let config = match method {
            "batch-hard-burn-ops" => ConvEmbedderConfig::new()
                .with_product_blocks(0)
                .with_flex_kernel(false),
            "batch-hard-no-flex-kernel" => {
                harness::embedder_config(backend).with_flex_kernel(false)
            }
            _ => harness::embedder_config(backend),
        };
        let device = device.clone().autodiff();
        device.seed(1);
        // Seeded random images in [0, 1), classes of K = 8: the timing does not depend on the
        // pixels, and MNIST's ten classes cannot fill P = 16.
        let labels = Tensor::<1, Int>::arange(0..batch as i64, &device).div_scalar(8);
        let batches: Vec<_> = (0..BATCHES)
            .map(|_| {
                let images =
                    Tensor::<4>::random([batch, 1, 28, 28], Distribution::Default, &device);
                (images, labels.clone())
            })
            .collect();
        let embedder = match config.init(&device) {
            Ok(embedder) => embedder,
            Err(error) => panic!("default configuration: {error}"),
        };
        let mut model = Some(Siamese::new(embedder));
        let mut optimizer = AdamConfig::new().init();
        let miner = BatchHardMiner::new(Euclidean::new());
        let loss_fn = TripletMarginLoss::new(0.2, Euclidean::new()).with_reducer(Reducer::Mean);
        let mut next = 0;
        Box::new(move || {
            let Some(current) = model.take() else {
                return 0;
            };
            let batch = &batches[next % BATCHES];
            next += 1;
            let (images, labels) = batch;
            let embeddings = current.embed(images.clone());
            let triplets = miner.mine(embeddings.clone(), labels.clone());
            let loss = loss_fn.forward(embeddings, &triplets);
            let gradients = GradientsParams::from_grads(loss.backward(), &current);
            model = Some(optimizer.step(1e-3, current, gradients));
            labels.dims()[0]
        })
    }
}

fn main() {
    harness::main::<TrainStep>();
}
