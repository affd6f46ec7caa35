//! Class-disjoint retrieval on Fashion-MNIST — the real use of metric learning: train on
//! T-shirt, trouser, pullover, dress and coat (classes 0–4), then retrieve among sandals,
//! shirts, sneakers, bags and ankle boots (classes 5–9), which the network never saw.
//!
//! Needs the Debian package `dataset-fashion-mnist`
//! (`sudo apt-get install dataset-fashion-mnist`; files in /usr/share/datasets/fashion-mnist),
//! or pass another directory of the four idx.gz files as the first argument.
//!
//! Run: `cargo run --release --example fashion_disjoint [DIR]` (about 6 minutes on 2 cores).
//! Prints the raw-pixel baseline and the trained embedding's precision@1, R-precision,
//! MAP@R and 1-NN accuracy on the unseen classes.

use std::path::PathBuf;

use siamese::train::TrainConfig;
use siamese::train::data::{DatasetSpec, FASHION_MNIST_DIR, Split};
use siamese::train::run_dir::RunDir;
use siamese::train::trainer::{self, TrainRequest};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from(FASHION_MNIST_DIR), PathBuf::from);
    let config = TrainConfig {
        steps: 2000,
        ..TrainConfig::for_dataset(DatasetSpec::FashionMnist { dir }, Split::Disjoint)
    };
    let runs = std::env::temp_dir().join("siamese-example-runs");
    let run = RunDir::create(&runs, &format!("fashion-disjoint-{}", std::process::id()))?;
    let outcome = trainer::train(TrainRequest {
        config,
        run,
        resume: false,
        quiet: false,
    })?;
    println!(
        "unseen classes 5–9: precision@1 {:.4} (raw pixels {:.4}); run directory {}",
        outcome.evaluation.retrieval.precision_at_1,
        outcome.baseline.retrieval.precision_at_1,
        outcome.run.display()
    );
    Ok(())
}
