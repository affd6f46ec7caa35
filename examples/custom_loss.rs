//! A custom loss composed from the triplet crate's parts, the way pytorch-metric-learning
//! composes them: a distance (cosine distance on L2-normalised embeddings), a miner
//! (PML's `TripletMarginMiner("semihard")`, inclusive upper bound) and a loss with a
//! reducer (triplet margin loss, mean over the non-zero terms) — trained on MNIST-5k
//! without the `siamese` command's objective.
//!
//! Run: `cargo run --release --example custom_loss` (about a minute on 2 cores).
//! Prints, every 100 steps, the loss and how many triplets the miner kept, then the
//! held-out retrieval metrics under the same cosine distance.

use burn::data::dataloader::batcher::Batcher;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use siamese::model::{ConvEmbedder, ConvEmbedderConfig, EmbedderConfig, Siamese};
use siamese::train::batcher::{BatchInput, ExampleBatcher};
use siamese::train::data::{DatasetSpec, Example, Split};
use siamese::train::evaluate::evaluate;
use siamese::train::sampler::PkSampler;
use siamese::triplet::distances::CosineDistance;
use siamese::triplet::losses::TripletMarginLoss;
use siamese::triplet::miners::{Miner, TripletMarginMiner, TripletType};
use siamese::triplet::reducers::Reducer;

fn train(steps: usize) -> anyhow::Result<f64> {
    let device = Device::flex();
    let splits = DatasetSpec::Mnist5k.load(Split::Standard, 42)?;
    let shape = splits.train.shape();
    let train_device = device.clone().autodiff();
    train_device.seed(42);
    let mut model = Siamese::new(ConvEmbedderConfig::new().init(&train_device)?);
    let mut optimizer = AdamConfig::new().init();

    // The composition: distance + miner + loss with a reducer.
    let margin = 0.1;
    let miner = TripletMarginMiner::new(margin, TripletType::SemiHard, CosineDistance);
    let loss_fn = TripletMarginLoss::new(margin, CosineDistance).with_reducer(Reducer::AvgNonZero);

    let mut sampler = PkSampler::new(splits.train.labels(), 10, 6, 42)?;
    for step in 0..steps {
        let items: Vec<Example> = sampler
            .next_batch()
            .into_iter()
            .map(|index| Example {
                values: splits.train.values(index).to_vec(),
                label: splits.train.labels()[index],
            })
            .collect();
        let batch = ExampleBatcher { shape }.batch(items, &train_device);
        let embeddings = model.embed(ConvEmbedder::input(batch.values, shape));
        let triplets = miner.mine(embeddings.clone(), batch.labels);
        let loss = loss_fn.forward(embeddings, &triplets);
        if step % 100 == 0 {
            println!(
                "step {step}: loss {:.4}, {} semi-hard triplets mined",
                loss.clone().into_scalar::<f32>(),
                triplets.len()
            );
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, gradients);
    }
    let evaluation = evaluate(&model.valid(), &splits, &CosineDistance, 1, 0, &device);
    println!("{}", evaluation.summary("held-out (cosine distance)"));
    Ok(evaluation.retrieval.precision_at_1)
}

fn main() -> anyhow::Result<()> {
    train(600)?;
    Ok(())
}

#[test]
fn a_short_run_beats_chance_clearly() -> anyhow::Result<()> {
    assert!(train(60)? > 0.6);
    Ok(())
}
