//! One model, several backends: the same initial weights and the same batches trained on
//! every compiled backend (flex, ndarray, and wgpu with `--features wgpu`), with the time
//! per step and how far each backend's losses stray from flex's. `tests/parity.rs` holds
//! every backend to this.
//!
//! Run: `cargo run --release --example backends [--features wgpu]` (about half a minute:
//! ndarray's convolution backward pass is slow; wgpu's first step compiles kernels).
//! Prints one line per backend: median milliseconds per step (batch 4 × 4 MNIST digits,
//! default embedder, batch-all triplet loss, Adam) and the largest loss difference from
//! flex over the steps (float rounding: about 1e-6).

use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use siamese::model::{ConvEmbedder, ConvEmbedderConfig, EmbedderConfig, Siamese};
use siamese::train::backend::backend_device;
use siamese::train::batcher::{BatchInput, ExampleBatcher};
use siamese::train::config::BackendKind;
use siamese::train::data::{DatasetSpec, Example, Split};
use siamese::train::sampler::PkSampler;
use siamese::triplet::distances::Euclidean;
use siamese::triplet::losses::BatchAllTripletLoss;

const STEPS: usize = 6;

/// Trains `STEPS` steps from the model in `weights` on `device`: the losses and the
/// median step time in milliseconds.
fn train_on(
    device: &Device,
    weights: &std::path::Path,
    batches: &[Vec<Example>],
) -> anyhow::Result<(Vec<f32>, f64)> {
    let device = device.clone().autodiff();
    let mut model = Siamese::<ConvEmbedder>::load_dir(weights, &device)?;
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = BatchAllTripletLoss::new(0.2, Euclidean::new());
    let shape = siamese::train::data::InputShape::Image {
        channels: 1,
        height: 28,
        width: 28,
    };
    let (mut losses, mut times) = (Vec::new(), Vec::new());
    for items in batches {
        let started = Instant::now();
        let batch = ExampleBatcher { shape }.batch(items.clone(), &device);
        let embeddings = model.embed(ConvEmbedder::input(batch.values, shape));
        let loss = loss_fn.forward(embeddings, batch.labels);
        losses.push(loss.clone().into_scalar::<f32>());
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, gradients);
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok((losses, times[times.len() / 2]))
}

fn main() -> anyhow::Result<()> {
    let splits = DatasetSpec::Mnist5k.load(Split::Standard, 42)?;
    let mut sampler = PkSampler::new(splits.train.labels(), 4, 4, 42)?;
    let batches: Vec<Vec<Example>> = (0..STEPS)
        .map(|_| {
            sampler
                .next_batch()
                .into_iter()
                .map(|index| Example {
                    values: splits.train.values(index).to_vec(),
                    label: splits.train.labels()[index],
                })
                .collect()
        })
        .collect();
    // One initial record, saved once and loaded on every backend.
    let weights = tempfile::tempdir()?;
    let flex = backend_device(BackendKind::Flex)?;
    flex.seed(7);
    Siamese::new(ConvEmbedderConfig::new().init(&flex)?).save_dir(weights.path())?;

    let (reference, _) = train_on(&flex, weights.path(), &batches)?;
    for backend in [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu] {
        let device = match backend_device(backend) {
            Ok(device) => device,
            Err(error) => {
                println!("{backend:?}: skipped ({error})");
                continue;
            }
        };
        let (losses, median_ms) = train_on(&device, weights.path(), &batches)?;
        let difference = losses
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        println!(
            "{backend:?}: {median_ms:.1} ms per step, losses {losses:.4?}, largest difference from flex {difference:.2e}"
        );
    }
    Ok(())
}
