//! `siamese`: train, evaluate and use Siamese embedding networks from the command line.
//!
//! `siamese train` with no argument trains on the embedded MNIST-5k digits and prints the
//! held-out retrieval quality; `siamese <command> --help` documents every flag.

mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use burn::prelude::*;
use clap::{Args, Parser, Subcommand};
use siamese_train::backend::backend_device;
use siamese_train::config::{BackendKind, TrainConfig, names, parse_name};
use siamese_train::data::{DatasetSpec, ExampleSet, FASHION_MNIST_DIR, InputShape, Split};
use siamese_train::run_dir::{RunDir, default_name};
use siamese_train::trainer::{self, TrainRequest, TrainedModel, run_config};

/// Siamese networks with triplet loss, on Burn.
#[derive(Parser)]
#[command(name = "siamese", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train an embedding network and report held-out retrieval quality.
    Train(Box<TrainArgs>),
    /// Rebuild a run's model from its directory and print its metrics.
    Eval(EvalArgs),
    /// Embed a dataset split, an image folder or a CSV into a float32 .npy file.
    Embed(EmbedArgs),
    /// Nearest neighbours of a query in a gallery of embeddings.
    Search(SearchArgs),
    /// Same/different verification quality on pairs; stores the calibrated threshold.
    Verify(verify::VerifyArgs),
    /// Embed two inputs and say whether they show the same class.
    Compare(verify::CompareArgs),
    /// Write PNG charts and a self-contained report.html into a run directory.
    Report(ReportArgs),
}

#[derive(Args)]
struct ReportArgs {
    /// The run directory.
    #[arg(long)]
    run: PathBuf,
}

/// Where the data is (shared by the commands).
#[derive(Args, Clone, Default)]
struct DataArgs {
    /// Dataset: mnist5k (embedded), fashion-mnist, folder (one sub-folder per class) or csv.
    #[arg(long, value_parser = ["mnist5k", "fashion-mnist", "folder", "csv"])]
    dataset: Option<String>,
    /// Directory of the data: Fashion-MNIST idx.gz files (default /usr/share/datasets/fashion-mnist) or the image folder.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The CSV file of --dataset csv.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Name of the label column of the CSV (default: the last column).
    #[arg(long)]
    label_column: Option<String>,
    /// Image size of --dataset folder, as HEIGHTxWIDTH (default 28x28).
    #[arg(long, value_parser = parse_size)]
    image_size: Option<(usize, usize)>,
    /// Channels of --dataset folder: 1 (grey) or 3 (RGB); default 1.
    #[arg(long)]
    channels: Option<usize>,
}

fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (height, width) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text:?} is not HEIGHTxWIDTH, e.g. 28x28"))?;
    let parse = |side: &str| {
        side.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{text:?}: {side:?} is not a positive integer"))
    };
    Ok((parse(height)?, parse(width)?))
}

fn choice(allowed: &'static [&'static str]) -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(allowed)
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// A JSON configuration (as written to a run's config.json); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// standard: held-out examples of the training classes; disjoint: train on classes 0–4, evaluate on the unseen 5–9 (without --config, P × K becomes 5 × 16).
    #[arg(long, value_parser = choice(names::SPLITS))]
    split: Option<String>,
    /// Loss.
    #[arg(long, value_parser = choice(names::LOSSES))]
    loss: Option<String>,
    /// Miner of the triplet loss: batch-hard (Hermans), batch-all, semi-hard (FaceNet band), semi-hard-pml, semi-hard-tfa (TF-Addons), easy-hard (PML BatchEasyHardMiner), hard (PML).
    #[arg(long, value_parser = choice(names::MINERS))]
    miner: Option<String>,
    /// Distance between embeddings (cosine: cosine similarity).
    #[arg(long, value_parser = choice(names::DISTANCES))]
    distance: Option<String>,
    /// Margin m of the triplet loss (negative margin of the contrastive loss). Default 0.2.
    #[arg(long)]
    margin: Option<f64>,
    /// Soft margin: softplus(d_ap - d_an + m) instead of the hinge.
    #[arg(long)]
    soft_margin: bool,
    /// Embedding size. Default 64.
    #[arg(long)]
    embed_dim: Option<usize>,
    /// P: classes per batch. Default 10.
    #[arg(long)]
    classes_per_batch: Option<usize>,
    /// K: examples of each class per batch (classes with fewer are sampled with replacement). Default 8.
    #[arg(long)]
    samples_per_class: Option<usize>,
    /// Optimiser steps. Default 800 (Fashion-MNIST: 6500).
    #[arg(long)]
    steps: Option<usize>,
    /// Passes over the training set instead of --steps.
    #[arg(long)]
    epochs: Option<f64>,
    /// Peak learning rate (Adam). Default 0.001.
    #[arg(long)]
    lr: Option<f64>,
    /// Learning-rate schedule after the warm-up.
    #[arg(long, value_parser = choice(names::SCHEDULES))]
    schedule: Option<String>,
    /// Linear warm-up steps. Default 50.
    #[arg(long)]
    warmup_steps: Option<usize>,
    /// Random image shifts of up to this many pixels (0: no augmentation). Default 2 (Fashion-MNIST: 0).
    #[arg(long)]
    augment_shift: Option<usize>,
    /// Seed of initialisation, split, sampling and augmentation. Default 42.
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: flex (default), ndarray, or wgpu (needs the wgpu cargo feature).
    #[arg(long, value_parser = choice(names::BACKENDS))]
    backend: Option<String>,
    /// Evaluate every N steps (0: only at the end). Default 400 (Fashion-MNIST: 2500, on 2000 test images).
    #[arg(long)]
    eval_every: Option<usize>,
    /// Evaluate on at most N held-out examples (and a proportional share of the kNN gallery) during training (0: all); the final evaluation uses all.
    #[arg(long)]
    eval_subset: Option<usize>,
    /// Checkpoint every N steps (0: never). Default 200 (Fashion-MNIST: 500).
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// k of the reported kNN accuracy. Default 1.
    #[arg(long)]
    knn_k: Option<usize>,
    /// Directory holding run directories.
    #[arg(long, default_value = "runs")]
    runs_dir: PathBuf,
    /// Name of the run directory (default: dataset and UTC time).
    #[arg(long)]
    name: Option<String>,
    /// Continue the run in this directory from its last checkpoint (its config.json is used; no other flag may change it).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Write the report (charts and report.html) into the run directory at the end.
    #[arg(long)]
    report: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// The run directory.
    #[arg(long)]
    run: PathBuf,
    /// Evaluate on another dataset of the same input shape (default: the run's own).
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct EmbedArgs {
    /// The run directory.
    #[arg(long)]
    run: PathBuf,
    /// What to embed: train or eval (the run's splits), an image folder (class sub-folders, or images directly), or a CSV file.
    #[arg(long)]
    input: String,
    /// Output .npy file (float32 [n, dim]); labels, when known, go to <out>.labels.npy (int64 [n]).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct SearchArgs {
    /// The run directory.
    #[arg(long)]
    run: PathBuf,
    /// The query: an image file (image runs) or a CSV file whose first row is the query (feature runs).
    #[arg(long)]
    query: PathBuf,
    /// Neighbours to list.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Gallery embeddings from `siamese embed` (default: the run's training set).
    #[arg(long)]
    gallery: Option<PathBuf>,
}

fn main() -> ExitCode {
    siamese_train::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(*args),
        Command::Eval(args) => eval(args),
        Command::Embed(args) => embed(args),
        Command::Search(args) => search(args),
        Command::Verify(args) => verify::verify(args),
        Command::Compare(args) => verify::compare(args),
        Command::Report(args) => report(&args.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn named<T: serde::de::DeserializeOwned>(value: &Option<String>) -> Option<T> {
    value.as_deref().and_then(parse_name)
}

/// The dataset the flags describe, starting from `base` (flags win).
fn dataset_spec(data: &DataArgs, base: DatasetSpec) -> Result<DatasetSpec> {
    let kind = data.dataset.as_deref().unwrap_or(base.name());
    let same_kind = kind == base.name();
    Ok(match kind {
        "mnist5k" => DatasetSpec::Mnist5k,
        "fashion-mnist" => DatasetSpec::FashionMnist {
            dir: data
                .data_dir
                .clone()
                .unwrap_or_else(|| match (&base, same_kind) {
                    (DatasetSpec::FashionMnist { dir }, true) => dir.clone(),
                    _ => PathBuf::from(FASHION_MNIST_DIR),
                }),
        },
        "folder" => {
            let (base_dir, base_channels, base_size) = match (&base, same_kind) {
                (
                    DatasetSpec::Folder {
                        dir,
                        channels,
                        height,
                        width,
                    },
                    true,
                ) => (Some(dir.clone()), *channels, (*height, *width)),
                _ => (None, 1, (28, 28)),
            };
            let (height, width) = data.image_size.unwrap_or(base_size);
            DatasetSpec::Folder {
                dir: data.data_dir.clone().or(base_dir).ok_or_else(|| {
                    anyhow!(
                        "--dataset folder needs --data-dir DIR (one sub-folder of images per class)"
                    )
                })?,
                channels: data.channels.unwrap_or(base_channels),
                height,
                width,
            }
        }
        "csv" => {
            let (base_file, base_label) = match (&base, same_kind) {
                (DatasetSpec::Csv { file, label_column }, true) => {
                    (Some(file.clone()), label_column.clone())
                }
                _ => (None, None),
            };
            DatasetSpec::Csv {
                file: data.data.clone().or(base_file).ok_or_else(|| anyhow!("--dataset csv needs --data FILE (numeric feature columns and a label column)"))?,
                label_column: data.label_column.clone().or(base_label),
            }
        }
        other => bail!("unknown dataset {other:?}"),
    })
}

fn train(args: TrainArgs) -> Result<()> {
    if let Some(resume) = &args.resume {
        let changed = args.config.is_some()
            || args.data.dataset.is_some()
            || args.loss.is_some()
            || args.miner.is_some()
            || args.steps.is_some()
            || args.epochs.is_some()
            || args.lr.is_some()
            || args.seed.is_some()
            || args.margin.is_some()
            || args.name.is_some();
        if changed {
            bail!(
                "--resume {} continues that run with its own config.json; drop the other training flags",
                resume.display()
            );
        }
        let (run, config) = run_config(resume)?;
        trainer::train(TrainRequest {
            config,
            run,
            resume: true,
            quiet: args.quiet,
        })?;
        if args.report {
            report(resume)?;
        }
        return Ok(());
    }
    // A configuration file is the base; without one, the tuned defaults of the dataset.
    let mut config = match &args.config {
        Some(path) => {
            let mut config = TrainConfig::load(path)?;
            config.dataset = dataset_spec(&args.data, config.dataset.clone())?;
            config
        }
        None => TrainConfig::for_dataset(
            dataset_spec(&args.data, DatasetSpec::Mnist5k)?,
            named::<Split>(&args.split).unwrap_or_default(),
        ),
    };
    apply(&mut config, &args);
    config.validate()?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| default_name(config.dataset.name()));
    let run = RunDir::create(&args.runs_dir, &name)?;
    let trained = trainer::train(TrainRequest {
        config,
        run: run.clone(),
        resume: false,
        quiet: args.quiet,
    });
    if trained.is_err() {
        run.remove_if_unused();
    }
    trained?;
    if args.report {
        report(run.path())?;
    }
    Ok(())
}

/// Flags override the configuration.
fn apply(config: &mut TrainConfig, args: &TrainArgs) {
    if let Some(split) = named::<Split>(&args.split) {
        config.split = split;
    }
    if let Some(loss) = named(&args.loss) {
        config.loss = loss;
    }
    if let Some(miner) = named(&args.miner) {
        config.miner = miner;
    }
    if let Some(distance) = named(&args.distance) {
        config.distance = distance;
    }
    if let Some(schedule) = named(&args.schedule) {
        config.schedule = schedule;
    }
    if let Some(backend) = named::<BackendKind>(&args.backend) {
        config.backend = backend;
    }
    let set = |field: &mut usize, value: Option<usize>| {
        if let Some(value) = value {
            *field = value;
        }
    };
    set(&mut config.embed_dim, args.embed_dim);
    set(&mut config.classes_per_batch, args.classes_per_batch);
    set(&mut config.samples_per_class, args.samples_per_class);
    set(&mut config.steps, args.steps);
    set(&mut config.warmup_steps, args.warmup_steps);
    set(&mut config.augment_shift, args.augment_shift);
    set(&mut config.eval_every, args.eval_every);
    set(&mut config.eval_subset, args.eval_subset);
    set(&mut config.checkpoint_every, args.checkpoint_every);
    set(&mut config.knn_k, args.knn_k);
    if let Some(margin) = args.margin {
        config.margin = margin;
    }
    if let Some(lr) = args.lr {
        config.lr = lr;
    }
    if args.epochs.is_some() {
        config.epochs = args.epochs;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if args.soft_margin {
        config.soft_margin = true;
    }
}

fn report(run_path: &Path) -> Result<()> {
    let (run, config) = run_config(run_path)?;
    let device = backend_device(config.backend)?;
    let page = siamese_train::report::write_report(&run, &config, &device)?;
    println!("report: {}", page.display());
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let (run, mut config) = run_config(&args.run)?;
    config.dataset = dataset_spec(&args.data, config.dataset.clone())?;
    let device = backend_device(config.backend)?;
    let splits = config.dataset.load(config.split, config.seed)?;
    let model = TrainedModel::load(&run, splits.train.shape(), &device)?;
    println!(
        "run: {} ({} on {}, split {:?})",
        run.path().display(),
        config.dataset.name(),
        splits.eval.shape(),
        config.split
    );
    let evaluation = model.evaluate(&splits, &config, &device);
    println!("{}", evaluation.summary("held-out"));
    Ok(())
}

/// The examples `input` names, for a run whose data has `shape`.
fn read_input(input: &str, config: &TrainConfig, shape: InputShape) -> Result<(ExampleSet, bool)> {
    if input == "train" || input == "eval" {
        let splits = config.dataset.load(config.split, config.seed)?;
        return Ok((
            if input == "train" {
                splits.train
            } else {
                splits.eval
            },
            true,
        ));
    }
    let path = Path::new(input);
    if !path.exists() {
        bail!(
            "{input}: no such file or directory; --input takes train, eval, an image folder or a CSV file"
        );
    }
    match shape {
        InputShape::Image {
            channels,
            height,
            width,
        } if path.is_dir() => {
            let has_classes = std::fs::read_dir(path)
                .with_context(|| format!("{input}: cannot read"))?
                .filter_map(Result::ok)
                .any(|entry| entry.path().is_dir());
            if has_classes {
                Ok((
                    siamese_train::data::read_image_folder(path, channels, height, width)?,
                    true,
                ))
            } else {
                Ok((unlabelled_images(path, channels, height, width)?, false))
            }
        }
        InputShape::Image { .. } => {
            bail!("{input}: an image run embeds image folders, not files; pass a directory")
        }
        InputShape::Features { features } => {
            let set = siamese_train::data::read_feature_csv(path, None)?;
            if set.shape().len() != features {
                bail!(
                    "{input}: {} feature columns, but the run's model takes {features}",
                    set.shape().len()
                );
            }
            Ok((set, true))
        }
    }
}

/// Every image directly in `dir`, unlabelled (label 0).
fn unlabelled_images(
    dir: &Path,
    channels: usize,
    height: usize,
    width: usize,
) -> Result<ExampleSet> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{}: no .png/.jpg/.jpeg image (and no class sub-folder)",
            dir.display()
        );
    }
    let mut values = Vec::new();
    for file in &files {
        values.extend(siamese_train::data::read_image(
            file, channels, height, width,
        )?);
    }
    Ok(ExampleSet::new(
        InputShape::Image {
            channels,
            height,
            width,
        },
        values,
        vec![0; files.len()],
        vec!["unlabelled".into()],
    )?)
}

fn model_of(
    run: &RunDir,
    config: &TrainConfig,
    device: &Device,
) -> Result<(TrainedModel, InputShape)> {
    let shape = run_shape(config)?;
    Ok((TrainedModel::load(run, shape, device)?, shape))
}

/// The input shape of a run's data, read from its model configuration when possible.
fn run_shape(config: &TrainConfig) -> Result<InputShape> {
    Ok(match &config.dataset {
        DatasetSpec::Mnist5k | DatasetSpec::FashionMnist { .. } => InputShape::Image {
            channels: 1,
            height: 28,
            width: 28,
        },
        DatasetSpec::Folder {
            channels,
            height,
            width,
            ..
        } => InputShape::Image {
            channels: *channels,
            height: *height,
            width: *width,
        },
        DatasetSpec::Csv { .. } => {
            let splits = config.dataset.load(config.split, config.seed)?;
            splits.train.shape()
        }
    })
}

fn embed(args: EmbedArgs) -> Result<()> {
    let (run, config) = run_config(&args.run)?;
    let device = backend_device(config.backend)?;
    let (model, shape) = model_of(&run, &config, &device)?;
    let (set, labelled) = read_input(&args.input, &config, shape)?;
    let embeddings = model.embed(&set, &device)?;
    let [rows, columns] = embeddings.dims();
    let values = embeddings
        .try_into_vec_as::<f32>()
        .map_err(|error| anyhow!("reading the embeddings: {error:?}"))?;
    siamese_train::npy::write_f32_matrix(&args.out, &values, rows, columns)?;
    println!("wrote {} ({rows} × {columns} float32)", args.out.display());
    if labelled {
        let labels_path = labels_path(&args.out);
        let labels: Vec<i64> = set.labels().iter().map(|&label| label as i64).collect();
        siamese_train::npy::write_i64_vector(&labels_path, &labels)?;
        println!("wrote {} ({rows} int64 labels)", labels_path.display());
    }
    Ok(())
}

fn labels_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.labels.npy"))
}

fn search(args: SearchArgs) -> Result<()> {
    if args.k == 0 {
        bail!("--k must be at least 1");
    }
    let (run, config) = run_config(&args.run)?;
    let device = backend_device(config.backend)?;
    let (model, shape) = model_of(&run, &config, &device)?;
    let query = single_input(&args.query, shape)?;
    let query_embedding = model.embed(&query, &device)?;
    let (gallery, labels, names) = match &args.gallery {
        Some(path) => {
            let (values, rows, columns) = siamese_train::npy::read_f32_matrix(path)?;
            let [_, dim] = query_embedding.dims();
            if columns != dim {
                bail!(
                    "{}: embeddings of size {columns}, the run's model gives {dim}",
                    path.display()
                );
            }
            let labels_file = labels_path(path);
            let labels = if labels_file.exists() {
                Some(siamese_train::npy::read_i64_vector(&labels_file, rows)?)
            } else {
                None
            };
            (
                Tensor::<2>::from_data(TensorData::new(values, [rows, columns]), &device),
                labels,
                None,
            )
        }
        None => {
            let splits = config.dataset.load(config.split, config.seed)?;
            let labels = Some(splits.train.labels().iter().map(|&l| l as i64).collect());
            (
                model.embed(&splits.train, &device)?,
                labels,
                Some(splits.train.class_names().to_vec()),
            )
        }
    };
    let distance = siamese_train::objective::distance(config.distance);
    let values = distance.matrix(query_embedding, gallery); // [1, n]
    let [_, count] = values.dims();
    let k = args.k.min(count);
    let order = if distance.smaller_is_closer() {
        values.clone().argsort(1)
    } else {
        values.clone().argsort_descending(1)
    };
    let order: Vec<i64> = order
        .slice([0..1, 0..k])
        .try_into_vec_as::<i64>()
        .map_err(|error| anyhow!("{error:?}"))?;
    let all: Vec<f32> = values
        .try_into_vec_as::<f32>()
        .map_err(|error| anyhow!("{error:?}"))?;
    println!(
        "{}: the {k} nearest of {count} gallery items ({:?})",
        args.query.display(),
        config.distance
    );
    println!(
        "{:>4} {:>8} {:>12} {:>10}",
        "rank", "index", "distance", "label"
    );
    for (rank, &index) in order.iter().enumerate() {
        let index = index as usize;
        let label = match (&labels, &names) {
            (Some(labels), Some(names)) => names
                .get(labels[index] as usize)
                .cloned()
                .unwrap_or_default(),
            (Some(labels), None) => labels[index].to_string(),
            _ => "-".into(),
        };
        println!(
            "{:>4} {index:>8} {:>12.6} {label:>10}",
            rank + 1,
            all[index]
        );
    }
    Ok(())
}

/// One input of a run's shape read from `path`: an image file (image runs), or the first
/// row of a CSV file (feature runs).
fn single_input(path: &Path, shape: InputShape) -> Result<ExampleSet> {
    match shape {
        InputShape::Image {
            channels,
            height,
            width,
        } => {
            let values = siamese_train::data::read_image(path, channels, height, width)?;
            Ok(ExampleSet::new(
                shape,
                values,
                vec![0],
                vec!["query".into()],
            )?)
        }
        InputShape::Features { features } => {
            let set = siamese_train::data::read_feature_csv(path, None)
                .or_else(|_| single_row(path, features))?;
            if set.shape().len() != features {
                bail!(
                    "{}: {} features, the run's model takes {features}",
                    path.display(),
                    set.shape().len()
                );
            }
            Ok(set.subset(&[0]))
        }
    }
}

/// A query file holding one unlabelled row of `features` numbers.
fn single_row(path: &Path, features: usize) -> Result<ExampleSet> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .ok_or_else(|| anyhow!("{}: empty query file", path.display()))?;
    let values: Vec<f32> = line
        .split(',')
        .map(|field| {
            field
                .trim()
                .parse::<f32>()
                .map_err(|_| anyhow!("{}: {field:?} is not a number", path.display()))
        })
        .collect::<Result<_>>()?;
    if values.len() != features {
        bail!(
            "{}: {} numbers, the run's model takes {features} features",
            path.display(),
            values.len()
        );
    }
    Ok(ExampleSet::new(
        InputShape::Features { features },
        values,
        vec![0],
        vec!["query".into()],
    )?)
}
