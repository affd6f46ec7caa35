//! Library self-check: runs every distance, miner and loss of `siamese-triplet` on a
//! synthetic 8 × 4 batch (8 classes, 4 samples each, 32-d) on each compiled CPU backend and
//! prints what they give, so a newcomer sees the pieces work end to end.
//!
//! Run: `cargo run --release --example self_check`
//! Prints, per backend: the triplet classes of the batch, the number of triplets each
//! miner keeps, each loss value and the retrieval metrics of the batch.

use burn::prelude::*;
use siamese::triplet::distances::{CosineSimilarity, Euclidean};
use siamese::triplet::losses::{
    BatchAllTripletLoss, CircleLoss, ContrastiveLoss, MultiSimilarityLoss, TripletMarginLoss,
};
use siamese::triplet::metrics::{TripletClasses, retrieval_metrics};
use siamese::triplet::miners::{
    BatchEasyHardMiner, BatchHardMiner, Miner, SemiHardMiner, TfaSemiHardMiner,
};
use siamese::triplet::reducers::Reducer;

const CLASSES: usize = 8;
const PER_CLASS: usize = 4;
const DIM: usize = 32;

/// Class centres plus seeded noise, `[32, 32]`, and labels `[32]`.
fn batch(device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let mut state: u64 = 0x5eed;
    let mut noise = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let centres: Vec<f32> = (0..CLASSES * DIM).map(|_| noise() * 2.0).collect();
    let mut rows = Vec::with_capacity(CLASSES * PER_CLASS * DIM);
    let mut labels = Vec::with_capacity(CLASSES * PER_CLASS);
    for class in 0..CLASSES {
        for _ in 0..PER_CLASS {
            rows.extend((0..DIM).map(|j| centres[class * DIM + j] + noise() * 1.5));
            labels.push(class as i64);
        }
    }
    let n = CLASSES * PER_CLASS;
    (
        Tensor::from_data(TensorData::new(rows, [n, DIM]), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

fn report(name: &str, device: &Device) {
    let device = device.clone().autodiff();
    let (embeddings, labels) = batch(&device);
    let embeddings = embeddings.require_grad();
    let euclidean = Euclidean::new();
    let margin = 0.2;
    println!("== {name} ==");

    let classes = TripletClasses::count(&euclidean, margin, embeddings.clone(), labels.clone());
    println!(
        "triplets: {} valid; easy {:.3}, semi-hard {:.3}, hard {:.3} (FaceNet, m = {margin})",
        classes.total,
        classes.fraction(classes.easy),
        classes.fraction(classes.semi_hard),
        classes.fraction(classes.hard),
    );

    let miners: [(&str, Box<dyn Miner>); 4] = [
        ("batch-hard", Box::new(BatchHardMiner::new(euclidean))),
        (
            "semi-hard (FaceNet)",
            Box::new(SemiHardMiner::new(margin, euclidean)),
        ),
        (
            "semi-hard (TF-Addons)",
            Box::new(TfaSemiHardMiner::new(euclidean)),
        ),
        (
            "easy-hard (PML)",
            Box::new(BatchEasyHardMiner::new(euclidean)),
        ),
    ];
    let triplet_loss = TripletMarginLoss::new(margin, euclidean).with_reducer(Reducer::Mean);
    for (miner_name, miner) in miners {
        let triplets = miner.mine(embeddings.clone(), labels.clone());
        let loss = triplet_loss.forward(embeddings.clone(), &triplets);
        let gradient_norm = gradient_norm(&embeddings, loss.clone());
        println!(
            "{miner_name:>22}: {:>5} triplets, triplet loss {:.5}, |grad| {:.5}",
            triplets.len(),
            loss.into_scalar::<f32>(),
            gradient_norm
        );
    }
    let losses = [
        (
            "batch-all",
            BatchAllTripletLoss::new(margin, euclidean).forward(embeddings.clone(), labels.clone()),
        ),
        (
            "contrastive",
            ContrastiveLoss::new(euclidean).forward(embeddings.clone(), labels.clone()),
        ),
        (
            "circle",
            CircleLoss::default().forward(embeddings.clone(), labels.clone()),
        ),
        (
            "multi-similarity",
            MultiSimilarityLoss::default().forward(embeddings.clone(), labels.clone()),
        ),
    ];
    for (loss_name, loss) in losses {
        let gradient_norm = gradient_norm(&embeddings, loss.clone());
        println!(
            "{loss_name:>22}: loss {:.5}, |grad| {:.5}",
            loss.into_scalar::<f32>(),
            gradient_norm
        );
    }
    for (distance_name, metrics) in [
        (
            "euclidean",
            retrieval_metrics(&euclidean, embeddings.clone(), labels.clone()),
        ),
        (
            "cosine",
            retrieval_metrics(&CosineSimilarity, embeddings, labels),
        ),
    ] {
        println!(
            "retrieval ({distance_name}): precision@1 {:.4}, R-precision {:.4}, MAP@R {:.4} over {} queries",
            metrics.precision_at_1,
            metrics.r_precision,
            metrics.mean_average_precision_at_r,
            metrics.num_queries
        );
    }
}

fn gradient_norm(embeddings: &Tensor<2>, loss: Tensor<1>) -> f32 {
    let grads = loss.backward();
    embeddings.grad(&grads).map_or(0.0, |gradient| {
        gradient.square().sum().sqrt().into_scalar::<f32>()
    })
}

fn main() {
    #[cfg(feature = "flex")]
    report("flex", &Device::flex());
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    report("ndarray", &Device::ndarray());
}
