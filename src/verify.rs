//! `siamese verify` and `siamese compare`: the Siamese question — same or different? —
//! answered with a trained run's embeddings and a threshold calibrated on pairs.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use burn::prelude::*;
use clap::Args;
use siamese_train::backend::backend_device;
use siamese_train::data::{ExampleSet, InputShape};
use siamese_train::trainer::{TrainedModel, run_config};
use siamese_train::verification::{
    Calibration, Pair, VERIFICATION_FILE, balanced_pairs, read_pair_file, report,
};
use siamese_triplet::distances::Distance;
use siamese_triplet::metrics::VerificationMetrics;

use crate::{DataArgs, dataset_spec, model_of, single_input};

#[derive(Args)]
pub struct VerifyArgs {
    /// The run directory.
    #[arg(long)]
    run: PathBuf,
    /// Seeded balanced pairs drawn from the evaluation split (half same-class, half different).
    #[arg(long, default_value_t = 20_000)]
    pairs: usize,
    /// Seed of the pairs.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// A pair list instead: one pair per line, `LEFT RIGHT same|different`, where LEFT and RIGHT are indices into the evaluation split or input files (images, or one-row CSVs).
    #[arg(long)]
    pair_file: Option<PathBuf>,
    /// Verify on another dataset of the same input shape (default: the run's own).
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
pub struct CompareArgs {
    /// The run directory (after `siamese verify`, which stores the threshold).
    #[arg(long)]
    run: PathBuf,
    /// The first input: an image file, a one-row CSV, or `eval:INDEX` / `train:INDEX`.
    first: String,
    /// The second input, the same way.
    second: String,
}

/// Dissimilarity of row pairs under the run's distance: smaller means more alike.
fn dissimilarities(distance: &dyn Distance, left: Tensor<2>, right: Tensor<2>) -> Result<Vec<f64>> {
    let values = distance.paired(left, right);
    let values = if distance.smaller_is_closer() {
        values
    } else {
        values.neg()
    };
    let values = values
        .try_into_vec_as::<f32>()
        .map_err(|error| anyhow!("reading the distances: {error:?}"))?;
    Ok(values.into_iter().map(f64::from).collect())
}

/// What the dissimilarity is, in words.
fn dissimilarity_name(distance: &dyn Distance, name: &str) -> String {
    if distance.smaller_is_closer() {
        format!("{name} distance")
    } else {
        format!("negated {name} similarity")
    }
}

/// One input of `compare`: a file, or an index into a split (with its class name).
fn resolve(
    item: &str,
    shape: InputShape,
    splits: &mut Option<siamese_train::data::Splits>,
    load: &dyn Fn() -> Result<siamese_train::data::Splits>,
) -> Result<(ExampleSet, Option<String>)> {
    let split_index = item
        .split_once(':')
        .filter(|(split, _)| *split == "eval" || *split == "train");
    if let Some((split, index)) = split_index {
        let index: usize = index
            .parse()
            .map_err(|_| anyhow!("{item}: expected {split}:INDEX with a whole number"))?;
        if splits.is_none() {
            *splits = Some(load()?);
        }
        let loaded = splits.as_ref().ok_or_else(|| anyhow!("no data"))?;
        let set = if split == "eval" {
            &loaded.eval
        } else {
            &loaded.train
        };
        if index >= set.len() {
            bail!(
                "{item}: the {split} split has {} examples (0 to {})",
                set.len(),
                set.len().saturating_sub(1)
            );
        }
        let class = set.class_names().get(set.labels()[index]).cloned();
        return Ok((set.subset(&[index]), class));
    }
    Ok((single_input(Path::new(item), shape)?, None))
}

pub fn verify(args: VerifyArgs) -> Result<()> {
    let (run, mut config) = run_config(&args.run)?;
    config.dataset = dataset_spec(&args.data, config.dataset.clone())?;
    let device = backend_device(config.backend)?;
    let splits = config.dataset.load(config.split, config.seed)?;
    let shape = splits.eval.shape();
    let model = TrainedModel::load(&run, splits.train.shape(), &device)?;
    let distance = siamese_train::objective::distance(config.distance);

    let (left, right, same) = match &args.pair_file {
        None => {
            if args.pairs < 2 {
                bail!("--pairs {} must be at least 2", args.pairs);
            }
            let pairs = balanced_pairs(splits.eval.labels(), args.pairs, args.seed)?;
            let embeddings = model.embed(&splits.eval, &device)?;
            gather(&embeddings, &pairs, &device)
        }
        Some(file) => {
            // Indices point into the evaluation split's embeddings; files are embedded in
            // one batch and appended after them.
            let listed = read_pair_file(file)?;
            let mut file_values = Vec::new();
            let mut file_count = 0;
            let mut indices = Vec::new();
            for (line, pair) in listed.iter().enumerate() {
                let mut index_of = |item: &str| -> Result<usize> {
                    match item.parse::<usize>() {
                        Ok(index) if index < splits.eval.len() => Ok(index),
                        Ok(index) => bail!(
                            "{}: pair {}: index {index}, but the evaluation split has {} examples",
                            file.display(),
                            line + 1,
                            splits.eval.len()
                        ),
                        Err(_) => {
                            let set = single_input(Path::new(item), shape).map_err(|error| {
                                anyhow!("{}: pair {}: {error:#}", file.display(), line + 1)
                            })?;
                            file_values.extend_from_slice(set.all_values());
                            file_count += 1;
                            Ok(splits.eval.len() + file_count - 1)
                        }
                    }
                };
                let left = index_of(&pair.left)?;
                let right = index_of(&pair.right)?;
                indices.push(Pair {
                    left,
                    right,
                    same: pair.same,
                });
            }
            let mut embeddings = model.embed(&splits.eval, &device)?;
            if file_count > 0 {
                let files =
                    ExampleSet::new(shape, file_values, vec![0; file_count], vec!["file".into()])?;
                embeddings = Tensor::cat(vec![embeddings, model.embed(&files, &device)?], 0);
            }
            gather(&embeddings, &indices, &device)
        }
    };
    let scores = dissimilarities(distance.as_ref(), left, right)?;
    let metrics = VerificationMetrics::new(&scores, &same)?;
    let name = dissimilarity_name(
        distance.as_ref(),
        &format!("{:?}", config.distance).to_lowercase(),
    );
    println!(
        "run: {} ({} evaluation split, {} examples)",
        run.path().display(),
        config.dataset.name(),
        splits.eval.len()
    );
    println!("{}", report(&metrics, &name));
    let calibration = Calibration::from_metrics(&metrics, &name);
    calibration.save(&run)?;
    println!(
        "calibrated threshold {:.4} (the EER point: FAR {:.4}, TAR {:.4}) saved to {}",
        calibration.threshold,
        calibration.far,
        calibration.tar,
        run.path().join(VERIFICATION_FILE).display()
    );
    Ok(())
}

/// Left rows, right rows and flags of `pairs` of rows of `embeddings`.
fn gather(
    embeddings: &Tensor<2>,
    pairs: &[Pair<usize>],
    device: &Device,
) -> (Tensor<2>, Tensor<2>, Vec<bool>) {
    let column = |pick: fn(&Pair<usize>) -> usize| {
        let indices: Vec<i64> = pairs.iter().map(|pair| pick(pair) as i64).collect();
        let count = indices.len();
        embeddings.clone().select(
            0,
            Tensor::<1, Int>::from_data(TensorData::new(indices, [count]), device),
        )
    };
    (
        column(|pair| pair.left),
        column(|pair| pair.right),
        pairs.iter().map(|pair| pair.same).collect(),
    )
}

pub fn compare(args: CompareArgs) -> Result<()> {
    let (run, config) = run_config(&args.run)?;
    let calibration = Calibration::load(&run)?;
    let device = backend_device(config.backend)?;
    let (model, shape) = model_of(&run, &config, &device)?;
    let mut splits = None;
    let load = || Ok(config.dataset.load(config.split, config.seed)?);
    let (first, first_class) = resolve(&args.first, shape, &mut splits, &load)?;
    let (second, second_class) = resolve(&args.second, shape, &mut splits, &load)?;
    let distance = siamese_train::objective::distance(config.distance);
    let scores = dissimilarities(
        distance.as_ref(),
        model.embed(&first, &device)?,
        model.embed(&second, &device)?,
    )?;
    let score = scores[0];
    let same = score <= calibration.threshold;
    let described = |item: &str, class: Option<String>| match class {
        Some(class) => format!("{item} (class {class})"),
        None => item.to_string(),
    };
    println!(
        "{} vs {}",
        described(&args.first, first_class),
        described(&args.second, second_class)
    );
    println!("{}: {score:.4}", calibration.dissimilarity);
    println!(
        "{}: threshold {:.4} (calibrated by `siamese verify` at its equal error rate: FAR {:.4}, TAR {:.4})",
        if same { "same" } else { "different" },
        calibration.threshold,
        calibration.far,
        calibration.tar
    );
    Ok(())
}
