//! The training loop: P×K batches, online mining, Adam with warm-up and cosine decay,
//! per-step diagnostics, periodic evaluation and checkpoints, and a final evaluation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Gradients;
use siamese_model::{
    ConvEmbedder, ConvEmbedderConfig, EmbedderConfig, MlpEmbedder, MlpEmbedderConfig, Siamese,
};

use crate::TrainError;
use crate::augment::random_shift;
use crate::backend::{backend_device, describe_backend};
use crate::batcher::{BatchInput, ExampleBatcher};
use crate::checkpoint::{self, TrainerState};
use crate::config::TrainConfig;
use crate::data::{Example, InputShape, Splits};
use crate::diagnostics::{EvalRecord, Record, StepRecord, batch_statistics};
use crate::evaluate::{Evaluation, evaluate, raw_baseline};
use crate::objective::Objective;
use crate::progress::Progress;
use crate::rng::SplitMix64;
use crate::run_dir::RunDir;
use crate::sampler::PkSampler;
use crate::throughput::Throughput;

/// Steps without any active triplet before the trainer warns.
const INACTIVE_WARNING_STEPS: usize = 100;
/// Mean negative-pair distance below which the embedding counts as collapsed.
const COLLAPSE_DISTANCE: f64 = 1e-4;

/// The conv embedder a configuration describes for images of `shape`.
pub fn conv_config(
    config: &TrainConfig,
    channels: usize,
    height: usize,
    width: usize,
) -> ConvEmbedderConfig {
    ConvEmbedderConfig::new()
        .with_in_channels(channels)
        .with_height(height)
        .with_width(width)
        .with_channels(config.conv_channels.clone())
        .with_product_blocks(crate::backend::product_blocks(
            config.backend,
            config.conv_channels.len(),
        ))
        .with_batch_norm(config.batch_norm)
        .with_hidden(config.hidden.first().copied().unwrap_or(0))
        .with_embedding_dim(config.embed_dim)
}

/// The MLP embedder a configuration describes for `features` inputs.
pub fn mlp_config(config: &TrainConfig, features: usize) -> MlpEmbedderConfig {
    MlpEmbedderConfig::new(features)
        .with_hidden(config.hidden.clone())
        .with_embedding_dim(config.embed_dim)
}

/// Where and how a run happens.
pub struct TrainRequest {
    /// The configuration (of the run being resumed, when resuming).
    pub config: TrainConfig,
    /// The run directory (created, or opened to resume).
    pub run: RunDir,
    /// Continue from the run's latest checkpoint.
    pub resume: bool,
    /// No progress bar.
    pub quiet: bool,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The run directory.
    pub run: PathBuf,
    /// The raw-value baseline.
    pub baseline: Evaluation,
    /// The final held-out evaluation.
    pub evaluation: Evaluation,
    /// Steps of the run.
    pub steps: usize,
    /// Seconds from the start of this process's part of the run to the end.
    pub seconds: f64,
}

/// Loads the data, then trains the embedder that fits it.
pub fn train(request: TrainRequest) -> Result<TrainOutcome, TrainError> {
    let config = &request.config;
    config.validate()?;
    let device = backend_device(config.backend)?;
    let started = Instant::now();
    let splits = config.dataset.load(config.split, config.seed)?;
    let shape = splits.train.shape();
    let train_counts = splits.train.class_counts();
    say(&format!(
        "data: {} ({shape}), {} training / {} held-out examples, {} training classes; split {}",
        config.dataset.name(),
        splits.train.len(),
        splits.eval.len(),
        train_counts.iter().filter(|&&count| count > 0).count(),
        serde_json::to_value(config.split)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    ));
    say(&format!(
        "evaluation: held-out set as query and reference set (precision@1, R-precision, MAP@R; each query excluded from its own neighbours, queries without a same-class partner left out); {}-NN accuracy of held-out queries against {} gallery examples",
        config.knn_k,
        splits.gallery.len()
    ));
    let baseline = raw_baseline(&splits, config.knn_k, &device);
    say(&baseline.summary("raw-value baseline (euclidean on raw pixels/features)"));
    match shape {
        InputShape::Image {
            channels,
            height,
            width,
        } => {
            let embedder = conv_config(config, channels, height, width);
            run::<ConvEmbedder>(&request, embedder, &splits, &device, baseline, started)
        }
        InputShape::Features { features } => {
            let embedder = mlp_config(config, features);
            run::<MlpEmbedder>(&request, embedder, &splits, &device, baseline, started)
        }
    }
}

fn say(line: &str) {
    println!("{line}");
}

/// Global L2 norm of the parameter gradients (NaN or inf when any entry is).
struct GradientNorm<'a> {
    grads: &'a Gradients,
    squared: f64,
}

impl ModuleVisitor for GradientNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = param.val().grad(self.grads) {
            self.squared += f64::from(grad.square().sum().into_scalar::<f32>());
        }
    }
}

/// Whether every parameter is finite.
struct FiniteWeights {
    finite: bool,
}

impl ModuleVisitor for FiniteWeights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.finite &= f64::from(param.val().abs().sum().into_scalar::<f32>()).is_finite();
    }
}

fn run<E: BatchInput>(
    request: &TrainRequest,
    embedder_config: E::Config,
    splits: &Splits,
    device: &Device,
    baseline: Evaluation,
    started: Instant,
) -> Result<TrainOutcome, TrainError> {
    let config = &request.config;
    let run_dir = &request.run;
    let train_device = device.clone().autodiff();
    let shape = splits.train.shape();
    let objective = Objective::new(config);
    let mut sampler = PkSampler::new(
        splits.train.labels(),
        config.classes_per_batch,
        config.samples_per_class,
        config.seed,
    )?;
    let with_replacement = sampler.classes_with_replacement();
    if !with_replacement.is_empty() {
        say(&format!(
            "note: {} class(es) have fewer than {} examples and are sampled with replacement",
            with_replacement.len(),
            config.samples_per_class
        ));
    }
    let mut augmentation = SplitMix64::new(config.seed.wrapping_add(1));
    let total = config.total_steps(splits.train.len());

    let (mut model, mut optimizer, mut step, mut nonfinite_in_row) =
        match resume_point(run_dir, request.resume)? {
            Some((dir, state)) => {
                let (model, optimizer) = checkpoint::load::<E>(&dir, &train_device)?;
                same_model(&dir, model.embedder.config(), &embedder_config)?;
                sampler.restore(state.sampler);
                augmentation = state.augmentation;
                run_dir.keep_records_through(state.step)?;
                say(&format!(
                    "resuming from {} (step {} of {total})",
                    dir.display(),
                    state.step
                ));
                (model, optimizer, state.step, state.nonfinite_in_row)
            }
            None => {
                train_device.seed(config.seed);
                run_dir.keep_records_through(0)?;
                (
                    Siamese::new(embedder_config.init(&train_device)?),
                    checkpoint::new_optimizer(),
                    0,
                    0,
                )
            }
        };
    run_dir.write_config(config)?;
    say(&format!(
        "training: {} steps of {}×{} = {} examples, {:?} loss, {:?} miner, {:?} distance, margin {}, lr {} ({:?}), on {}; run directory {}",
        total,
        config.classes_per_batch,
        config.samples_per_class,
        sampler.batch_size(),
        config.loss,
        config.miner,
        config.distance,
        config.margin,
        config.lr,
        config.schedule,
        describe_backend(config.backend),
        run_dir.path().display()
    ));

    let batcher = ExampleBatcher { shape };
    let mut progress = Progress::new(total, step, request.quiet);
    let mut inactive_steps = 0;
    let mut collapse_warned = false;
    let mut throughput = Throughput::after_first_of(step);
    if step < total {
        progress.println("the first step compiles kernels (seconds on wgpu) and is not timed");
    }
    while step < total {
        let step_started = Instant::now();
        let lr = config.learning_rate(step, total);
        let items: Vec<Example> = sampler
            .next_batch()
            .into_iter()
            .map(|index| Example {
                values: random_shift(
                    splits.train.values(index),
                    shape,
                    config.augment_shift,
                    &mut augmentation,
                ),
                label: splits.train.labels()[index],
            })
            .collect();
        let batch = batcher.batch(items, &train_device);
        let embeddings = model.embed(E::input(batch.values, shape));
        let statistics = batch_statistics(
            objective.distance(),
            config.margin,
            embeddings.clone(),
            batch.labels.clone(),
        );
        let output = objective.compute(embeddings, batch.labels);
        let loss = f64::from(output.loss.clone().into_scalar::<f32>());
        let grads = output.loss.backward();
        let mut norm = GradientNorm {
            grads: &grads,
            squared: 0.0,
        };
        model.visit(&mut norm);
        let gradient_norm = norm.squared.sqrt();
        let finite = loss.is_finite() && gradient_norm.is_finite();
        if finite {
            nonfinite_in_row = 0;
            let grads = GradientsParams::from_grads(grads, &model);
            model = optimizer.step(lr, model, grads);
        } else {
            nonfinite_in_row += 1;
            progress.println(&format!(
                "warning: step {} skipped: loss {loss}, gradient norm {gradient_norm} ({nonfinite_in_row} non-finite in a row)",
                step + 1
            ));
        }
        step += 1;
        let classes = statistics.classes;
        let step_seconds = step_started.elapsed().as_secs_f64();
        let images_per_second = sampler.batch_size() as f64 / step_seconds;
        if let Some(first_seconds) = throughput.add(step, sampler.batch_size(), step_seconds) {
            progress.println(&format!(
                "first step (warm-up, compiles kernels on wgpu): {first_seconds:.2} s"
            ));
        }
        run_dir.append(&Record::Step(StepRecord {
            step,
            loss,
            active_fraction: classes.fraction(classes.total - classes.easy),
            easy_fraction: classes.fraction(classes.easy),
            semi_hard_fraction: classes.fraction(classes.semi_hard),
            hard_fraction: classes.fraction(classes.hard),
            mined_triplets: output.mined_triplets,
            mean_positive_distance: statistics.mean_positive,
            mean_negative_distance: statistics.mean_negative,
            mean_embedding_norm: statistics.mean_norm,
            gradient_norm,
            lr,
            images_per_second,
            skipped: !finite,
        }))?;
        progress.step(step, loss, images_per_second);
        if nonfinite_in_row >= config.max_nonfinite_steps {
            progress.finish();
            return Err(TrainError::Stopped(format!(
                "{nonfinite_in_row} non-finite steps in a row (last at step {step}); the last good checkpoint in {} is intact. Lower --lr or check the data",
                run_dir.checkpoints().display()
            )));
        }
        inactive_steps = if classes.total > 0 && classes.easy == classes.total {
            inactive_steps + 1
        } else {
            0
        };
        if inactive_steps == INACTIVE_WARNING_STEPS {
            progress.println(&format!("warning: no triplet has been inside the margin for {INACTIVE_WARNING_STEPS} steps: the loss has nothing to learn from; try a larger --margin or a harder --miner"));
        }
        if config.distance != crate::config::DistanceKind::Cosine
            && statistics.mean_negative < COLLAPSE_DISTANCE
            && !collapse_warned
        {
            collapse_warned = true;
            progress.println(&format!("warning: the embedding has collapsed at step {step}: the mean distance between different classes is {:.2e}", statistics.mean_negative));
        }
        if config.eval_every > 0 && step % config.eval_every == 0 && step < total {
            let evaluation = evaluate(
                &model.valid(),
                splits,
                objective.distance(),
                config.knn_k,
                config.eval_subset,
                device,
            );
            run_dir.append(&Record::Eval(eval_record(step, &evaluation)))?;
            progress.println(&evaluation.summary(&format!("step {step}: held-out")));
        }
        if config.checkpoint_every > 0 && step % config.checkpoint_every == 0 && step < total {
            let mut weights = FiniteWeights { finite: true };
            model.visit(&mut weights);
            if weights.finite {
                let state = TrainerState {
                    format_version: checkpoint::FORMAT_VERSION,
                    step,
                    sampler: sampler.state(),
                    augmentation,
                    nonfinite_in_row,
                    checksums: Vec::new(),
                };
                checkpoint::save(run_dir, &model, &optimizer, &state)?;
            } else {
                progress.println(&format!(
                    "warning: step {step}: the weights are not finite; no checkpoint written"
                ));
            }
        }
    }
    progress.finish();
    let training_seconds = started.elapsed().as_secs_f64();
    let mut weights = FiniteWeights { finite: true };
    model.visit(&mut weights);
    if !weights.finite {
        return Err(TrainError::Stopped(format!(
            "the weights are not finite after step {step}; no model written. The last good checkpoint in {} is intact. Lower --lr or check the data",
            run_dir.checkpoints().display()
        )));
    }
    model.valid().save_dir(&run_dir.model_dir())?;
    let evaluation = evaluate(
        &model.valid(),
        splits,
        objective.distance(),
        config.knn_k,
        0,
        device,
    );
    run_dir.append(&Record::Eval(eval_record(step, &evaluation)))?;
    let seconds = started.elapsed().as_secs_f64();
    let skipped_steps = run_dir
        .records()?
        .iter()
        .filter(|record| matches!(record, Record::Step(step) if step.skipped))
        .count();
    run_dir.write_summary(&serde_json::json!({
        "steps": step,
        "skipped_steps": skipped_steps,
        "seconds": seconds,
        "dataset": config.dataset.name(),
        "split": config.split,
        "images_per_second_after_first_step": throughput.images_per_second(),
        "baseline": evaluation_json(&baseline),
        "held_out": evaluation_json(&evaluation),
    }))?;
    say(&format!(
        "trained {step} steps in {training_seconds:.1} s ({}); model saved to {}",
        throughput.describe(),
        run_dir.model_dir().display()
    ));
    say(&evaluation.summary("held-out"));
    Ok(TrainOutcome {
        run: run_dir.path().to_path_buf(),
        baseline,
        evaluation,
        steps: step,
        seconds,
    })
}

fn resume_point(
    run_dir: &RunDir,
    resume: bool,
) -> Result<Option<(PathBuf, TrainerState)>, TrainError> {
    if !resume {
        return Ok(None);
    }
    let latest = checkpoint::latest(run_dir)?;
    for reason in &latest.skipped {
        say(&format!("warning: skipping a checkpoint: {reason}"));
    }
    if latest.found.is_none() {
        if !latest.skipped.is_empty() {
            return Err(TrainError::run(
                &run_dir.checkpoints(),
                format!(
                    "none of the {} checkpoint(s) verifies, so the run cannot continue; \
                     move the checkpoints directory away to start this run again from step 0",
                    latest.skipped.len()
                ),
            ));
        }
        say(&format!(
            "no checkpoint in {}: starting the run from step 0",
            run_dir.checkpoints().display()
        ));
    }
    Ok(latest.found)
}

/// Refuses a checkpoint whose network differs from the one the run's configuration builds
/// (a checkpoint copied from another run, or a config.json edited after the start).
fn same_model<C: serde::Serialize>(
    checkpoint: &Path,
    found: &C,
    expected: &C,
) -> Result<(), TrainError> {
    let as_json = |config: &C| serde_json::to_value(config).unwrap_or_default();
    let (found, expected) = (as_json(found), as_json(expected));
    if found == expected {
        return Ok(());
    }
    Err(TrainError::run(
        &checkpoint.join(siamese_model::CONFIG_FILE),
        format!(
            "the checkpoint holds another network than the run's config.json describes: \
             checkpoint {found}, config.json {expected}"
        ),
    ))
}

fn eval_record(step: usize, evaluation: &Evaluation) -> EvalRecord {
    EvalRecord {
        step,
        precision_at_1: evaluation.retrieval.precision_at_1,
        r_precision: evaluation.retrieval.r_precision,
        mean_average_precision_at_r: evaluation.retrieval.mean_average_precision_at_r,
        knn_accuracy: evaluation.knn_accuracy,
        queries: evaluation.queries,
    }
}

/// Metrics as JSON, for summaries.
pub fn evaluation_json(evaluation: &Evaluation) -> serde_json::Value {
    serde_json::json!({
        "precision_at_1": evaluation.retrieval.precision_at_1,
        "r_precision": evaluation.retrieval.r_precision,
        "mean_average_precision_at_r": evaluation.retrieval.mean_average_precision_at_r,
        "knn_accuracy": evaluation.knn_accuracy,
        "knn_k": evaluation.k,
        "queries": evaluation.queries,
        "gallery": evaluation.gallery,
    })
}

/// The model of a finished run, for `eval`, `embed` and `search`.
pub enum TrainedModel {
    /// A conv embedder (image data).
    Conv(Siamese<ConvEmbedder>),
    /// An MLP embedder (feature data).
    Mlp(Siamese<MlpEmbedder>),
}

impl TrainedModel {
    /// Loads `run/model` on `device`; the run's data shape decides the embedder.
    pub fn load(run_dir: &RunDir, shape: InputShape, device: &Device) -> Result<Self, TrainError> {
        let dir = run_dir.model_dir();
        if !dir.is_dir() {
            return Err(TrainError::run(
                &dir,
                "the run has no final model (did its training finish?)",
            ));
        }
        Ok(match shape {
            InputShape::Image { .. } => TrainedModel::Conv(Siamese::load_dir(&dir, device)?),
            InputShape::Features { .. } => TrainedModel::Mlp(Siamese::load_dir(&dir, device)?),
        })
    }

    /// Evaluates on `splits`.
    pub fn evaluate(&self, splits: &Splits, config: &TrainConfig, device: &Device) -> Evaluation {
        let distance = crate::objective::distance(config.distance);
        match self {
            TrainedModel::Conv(model) => {
                evaluate(model, splits, distance.as_ref(), config.knn_k, 0, device)
            }
            TrainedModel::Mlp(model) => {
                evaluate(model, splits, distance.as_ref(), config.knn_k, 0, device)
            }
        }
    }

    /// Embeds a set: `[n, dim]`.
    pub fn embed(
        &self,
        set: &crate::data::ExampleSet,
        device: &Device,
    ) -> Result<Tensor<2>, TrainError> {
        let check =
            |result: Result<(), siamese_model::ModelError>| result.map_err(TrainError::from);
        match self {
            TrainedModel::Conv(model) => {
                if let InputShape::Image {
                    channels,
                    height,
                    width,
                } = set.shape()
                {
                    check(siamese_model::Embedder::check_input(
                        &model.embedder,
                        &[1, channels, height, width],
                    ))?;
                }
                Ok(crate::evaluate::embed_set(model, set, device))
            }
            TrainedModel::Mlp(model) => {
                check(siamese_model::Embedder::check_input(
                    &model.embedder,
                    &[1, set.shape().len()],
                ))?;
                Ok(crate::evaluate::embed_set(model, set, device))
            }
        }
    }
}

/// Reads the configuration of a run directory.
pub fn run_config(path: &Path) -> Result<(RunDir, TrainConfig), TrainError> {
    let run_dir = RunDir::open(path)?;
    let config = run_dir.read_config()?;
    Ok((run_dir, config))
}
