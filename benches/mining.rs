//! Mining + loss benchmark: forward and backward of each miner/loss pairing at batch sizes
//! 128 to 4096, on each compiled CPU backend, with time and peak memory.
//!
//! Run: `cargo bench --bench mining` (all sizes), or for instance
//! `cargo bench --bench mining -- --sizes 128,512 --backends flex --repeats 5`.
//!
//! Embeddings are `[B, 128]`, L2-normalised, in classes of 8 (P = B / 8) drawn so that a
//! mix of easy, semi-hard and hard triplets exists at margin 0.2. Each step builds tracked
//! embeddings, mines, computes the loss, runs backward and reads the gradient back. The
//! `items` column is the number of triplets the loss covers.
//!
//! Methods: `batch-hard` and `semi-hard (TF-Addons)` list one triplet per anchor or
//! positive pair with their miner and score them with `TripletMarginLoss`;
//! `semi-hard (FaceNet)`, `semi-hard (PML)` and `batch-all` sum over every triplet of
//! their band without listing it (`BandTripletLoss`, `BatchAllTripletLoss`: the same value
//! and gradient as the miner + `TripletMarginLoss`, in `O(B²)` memory);
//! `semi-hard (PML listed)` lists PML's semi-hard triplets with `TripletMarginMiner` and
//! scores them with `TripletMarginLoss`, as PML does.

mod harness;

use burn::prelude::*;
use siamese::triplet::distances::Euclidean;
use siamese::triplet::losses::{BandTripletLoss, BatchAllTripletLoss, TripletMarginLoss};
use siamese::triplet::miners::{
    BatchHardMiner, Miner, SemiHardMiner, TfaSemiHardMiner, TripletMarginMiner, TripletType,
};
use siamese::triplet::reducers::Reducer;

const DIM: usize = 128;
const PER_CLASS: usize = 8;
const MARGIN: f64 = 0.2;

/// Seeded class-clustered unit vectors `[batch, DIM]` and labels `[batch]`.
fn data(batch: usize) -> (Vec<f32>, Vec<i64>) {
    harness::clustered_unit_vectors(batch, DIM, PER_CLASS)
}

struct Mining;

impl harness::Bench for Mining {
    const NAME: &'static str = "mining";
    const METHODS: &'static [&'static str] = &[
        "batch-hard",
        "semi-hard (FaceNet)",
        "semi-hard (PML)",
        "semi-hard (PML listed)",
        "semi-hard (TF-Addons)",
        "batch-all",
    ];
    const SIZES: &'static [usize] = &[128, 512, 1024, 4096];

    fn prepare(
        device: &Device,
        _backend: &str,
        method: &str,
        batch: usize,
    ) -> Box<dyn FnMut() -> usize> {
        let device = device.clone().autodiff();
        let (rows, labels) = data(batch);
        let method = method.to_string();
        Box::new(move || {
            let embeddings =
                Tensor::<2>::from_data(TensorData::new(rows.clone(), [batch, DIM]), &device)
                    .require_grad();
            let labels =
                Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [batch]), &device);
            let euclidean = Euclidean::new();
            let mined = |miner: &dyn Miner, reducer: Reducer| {
                let triplets = miner.mine(embeddings.clone(), labels.clone());
                let loss = TripletMarginLoss::new(MARGIN, euclidean)
                    .with_reducer(reducer)
                    .forward(embeddings.clone(), &triplets);
                (loss, triplets.len())
            };
            let banded = |band| {
                let output = BandTripletLoss::new(MARGIN, band, euclidean)
                    .forward_with_counts(embeddings.clone(), labels.clone());
                (output.loss, output.num_triplets)
            };
            let (loss, triplets) = match method.as_str() {
                "batch-hard" => mined(&BatchHardMiner::new(euclidean), Reducer::Mean),
                "semi-hard (FaceNet)" => banded(SemiHardMiner::new(MARGIN, euclidean).band()),
                "semi-hard (PML)" => {
                    banded(TripletMarginMiner::new(MARGIN, TripletType::SemiHard, euclidean).band())
                }
                "semi-hard (PML listed)" => mined(
                    &TripletMarginMiner::new(MARGIN, TripletType::SemiHard, euclidean),
                    Reducer::AvgNonZero,
                ),
                "semi-hard (TF-Addons)" => mined(&TfaSemiHardMiner::new(euclidean), Reducer::Mean),
                "batch-all" => {
                    let output = BatchAllTripletLoss::new(MARGIN, euclidean)
                        .forward_with_counts(embeddings.clone(), labels.clone());
                    (output.loss, output.num_triplets)
                }
                other => panic!("unknown method {other}"),
            };
            let grads = loss.backward();
            let _sync = embeddings
                .grad(&grads)
                .map(|g| g.abs().sum().into_scalar::<f32>());
            triplets
        })
    }
}

fn main() {
    harness::main::<Mining>();
}
