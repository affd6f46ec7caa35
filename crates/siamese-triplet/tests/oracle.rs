//! Conformance with the reference fixtures (PyTorch autograd, pytorch-metric-learning 2.9
//! and a TF-Addons port): every case, every entry, values and gradients, on every compiled
//! CPU backend.
//!
//! The fixture path is `$SIAMESE_ORACLE`, or `../shared/oracle/cases.json` relative to the
//! workspace root. A missing or unreadable file fails every test here, naming the path.
//! Nothing is keyed to particular case names or numbers: any file of the same schema is
//! checked the same way, and an entry or section this suite does not know fails it.
//!
//! Each test computes, for every case, values mirroring the fixture's own layout
//! ([`Computed`]), then [`compare`] walks every expected number. A meta-test perturbs every
//! expected number of the file by 0.01, one at a time, and checks that the comparison
//! catches each one.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::prelude::*;
use serde_json::Value;
use siamese_triplet::LabelMasks;
use siamese_triplet::distances::{CosineDistance, Distance, Euclidean, SquaredEuclidean};
use siamese_triplet::losses::{
    BandTripletLoss, BatchAllTripletLoss, CircleLoss, ContrastiveLoss, MultiSimilarityLoss,
    TripletMarginLoss,
};
use siamese_triplet::metrics::{PmlTripletCounts, retrieval_metrics};
use siamese_triplet::miners::{
    BatchAllMiner, BatchEasyHardMiner, BatchHardMiner, Miner, NegativeStrategy, PositiveStrategy,
    TfaSemiHardMiner, TripletMarginMiner, TripletType,
};
use siamese_triplet::reducers::Reducer;

use common::{labels, matrix, to_rows, tracked, value_and_gradient};

/// Absolute and relative tolerance for float32 results against float64 references.
const TOLERANCE: f64 = 1e-5;

/// `$SIAMESE_ORACLE` (relative paths from the workspace root), or the default location.
fn fixture_path() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = std::env::var_os("SIAMESE_ORACLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/oracle/cases.json"));
    if path.is_absolute() {
        path
    } else {
        workspace.join(path)
    }
}

fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Result<Value, String>> = OnceLock::new();
    let loaded = FIXTURE.get_or_init(|| {
        let path = fixture_path();
        let text = std::fs::read_to_string(&path).map_err(|error| {
            format!(
                "cannot read the oracle fixtures at {}: {error} (set SIAMESE_ORACLE to the cases.json path)",
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .map_err(|error| format!("{} is not valid JSON: {error}", path.display()))
    });
    match loaded {
        Ok(value) => value,
        Err(message) => panic!("{message}"),
    }
}

fn cases() -> &'static [Value] {
    let cases = fixture()["cases"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert!(
        !cases.is_empty(),
        "{} holds no cases",
        fixture_path().display()
    );
    cases
}

/// Keys that hold inputs, metadata or the parameters of an entry, not expected results.
const NOT_RESULTS: &[&str] = &[
    "name",
    "note",
    "generator_seed",
    "labels",
    "embeddings",
    "checks",
    "comment",
    "margin",
    "normalize_embeddings",
    "soft",
    "distance",
    "tfa_distance_metric",
    "pos_margin",
    "neg_margin",
    "m",
    "gamma",
    "alpha",
    "beta",
    "base",
    "pos_strategy",
    "neg_strategy",
];

/// The sections of a case, each checked by the test of the same name.
const SECTIONS: &[&str] = &[
    "counts",
    "distances",
    "pml_triplet_margin_loss",
    "pml_triplet_margin_miner",
    "batch_hard",
    "batch_all",
    "semihard_tfa",
    "pml_contrastive",
    "pml_circle_loss",
    "pml_multi_similarity_loss",
    "pml_batch_easy_hard",
    "pml_accuracy",
];

/// Top-level numbers of a case, checked under the "counts" section.
const CASE_COUNTS: &[&str] = &[
    "n",
    "d",
    "num_classes",
    "num_positive_pairs",
    "num_negative_pairs",
    "num_triplets",
];

/// One case's inputs on one device.
struct Case<'a> {
    fixture: &'a Value,
    device: Device,
}

impl Case<'_> {
    fn name(&self) -> &str {
        self.fixture["name"].as_str().unwrap_or("<unnamed>")
    }

    fn rows(&self) -> Vec<Vec<f32>> {
        rows_of(&self.fixture["embeddings"])
            .into_iter()
            .map(|row| row.into_iter().map(|x| x as f32).collect())
            .collect()
    }

    fn label_values(&self) -> Vec<i64> {
        self.fixture["labels"]
            .as_array()
            .expect("labels array")
            .iter()
            .map(|v| v.as_i64().expect("integer label"))
            .collect()
    }

    fn embeddings(&self) -> Tensor<2> {
        matrix(&self.rows(), &self.device)
    }

    fn tracked(&self) -> Tensor<2> {
        tracked(&self.rows(), &self.device)
    }

    fn labels(&self) -> Tensor<1, Int> {
        labels(&self.label_values(), &self.device)
    }

    /// The entries of a section: a list, or one object.
    fn entries(&self, section: &str) -> Vec<&Value> {
        match &self.fixture[section] {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        }
    }
}

/// What we computed for one section, in the fixture's layout: one value per way of
/// computing it (e.g. triplets listed by a miner, or counted without listing).
type Computed = Vec<(String, Value)>;

fn rows_of(value: &Value) -> Vec<Vec<f64>> {
    value
        .as_array()
        .expect("matrix as a list of rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("matrix row")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        })
        .collect()
}

fn flag(entry: &Value, key: &str) -> bool {
    entry[key]
        .as_bool()
        .unwrap_or_else(|| panic!("{key} must be true or false in {entry}"))
}

fn float(entry: &Value, key: &str) -> f64 {
    entry[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} must be a number in {entry}"))
}

fn text<'v>(entry: &'v Value, key: &str) -> &'v str {
    entry[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} must be a string in {entry}"))
}

fn scalar(loss: Tensor<1>) -> f64 {
    f64::from(loss.into_scalar::<f32>())
}

/// `{loss_key: value, grad_key: d loss / d embeddings}` of a loss over `embeddings`.
fn loss_entry(
    embeddings: &Tensor<2>,
    loss: Tensor<1>,
    loss_key: &str,
    grad_key: &str,
) -> serde_json::Map<String, Value> {
    let (value, gradient) = value_and_gradient(embeddings, loss);
    let mut entry = serde_json::Map::new();
    entry.insert(loss_key.into(), value.into());
    entry.insert(grad_key.into(), serde_json::json!(gradient));
    entry
}

fn merge(mut entry: serde_json::Map<String, Value>, more: Value) -> Value {
    if let Value::Object(more) = more {
        entry.extend(more);
    }
    Value::Object(entry)
}

fn count_true(mask: Tensor<2, Bool>) -> usize {
    mask.int().sum().into_scalar::<i64>() as usize
}

// ---- computing each section -------------------------------------------------------------

fn compute_counts(case: &Case) -> Computed {
    let masks = LabelMasks::new(case.labels());
    let mut classes = case.label_values();
    classes.sort_unstable();
    classes.dedup();
    let value = serde_json::json!({
        "n": case.label_values().len(),
        "d": case.rows().first().map_or(0, Vec::len),
        "num_classes": classes.len(),
        "num_positive_pairs": masks.num_positive_pairs(),
        "num_negative_pairs": masks.num_negative_pairs(),
        "num_triplets": masks.num_triplets(),
    });
    vec![("label masks".into(), value)]
}

fn compute_distances(case: &Case) -> Computed {
    let known: [(&str, Box<dyn Distance>); 5] = [
        ("euclidean", Box::new(Euclidean::new())),
        ("sq_euclidean", Box::new(SquaredEuclidean::new())),
        ("euclidean_l2norm", Box::new(Euclidean::normalized())),
        (
            "sq_euclidean_l2norm",
            Box::new(SquaredEuclidean::normalized()),
        ),
        ("cosine_distance", Box::new(CosineDistance)),
    ];
    let mut out = serde_json::Map::new();
    for (key, distance) in known {
        out.insert(
            key.into(),
            serde_json::json!(to_rows(distance.pairwise(case.embeddings()))),
        );
    }
    vec![("distances".into(), Value::Object(out))]
}

fn compute_pml_triplet_margin_loss(case: &Case) -> Computed {
    let (mut listed, mut counted) = (Vec::new(), Vec::new());
    for entry in case.entries("pml_triplet_margin_loss") {
        let margin = float(entry, "margin");
        let distance = Euclidean {
            normalize: flag(entry, "normalize_embeddings"),
        };

        // PML's default all-triplets miner, listed, then the AvgNonZero margin loss.
        let embeddings = case.tracked();
        let triplets = BatchAllMiner::new(distance).mine(embeddings.clone(), case.labels());
        let loss = TripletMarginLoss::new(margin, distance).forward(embeddings.clone(), &triplets);
        let active = sum_active(
            &TripletMarginLoss::new(margin, distance),
            &embeddings,
            &triplets,
        );
        listed.push(merge(
            loss_entry(&embeddings, loss, "loss", "grad"),
            serde_json::json!({
                "num_triplets": triplets.len(), "num_nonzero_triplets": active,
            }),
        ));

        // The same loss without listing the triplets.
        let embeddings = case.tracked();
        let output = BatchAllTripletLoss::new(margin, distance)
            .forward_with_counts(embeddings.clone(), case.labels());
        counted.push(merge(
            loss_entry(&embeddings, output.loss, "loss", "grad"),
            serde_json::json!({
                "num_triplets": output.num_triplets, "num_nonzero_triplets": output.num_active,
            }),
        ));
    }
    vec![
        ("all triplets listed".into(), listed.into()),
        ("all triplets counted".into(), counted.into()),
    ]
}

/// Triplets with a positive term under `loss` (the AvgNonZero divisor), with a Sum reducer
/// over indicator terms: how many `relu(d_ap + m - d_an)` are `> 0`.
fn sum_active<D: Distance + Clone>(
    loss: &TripletMarginLoss<D>,
    embeddings: &Tensor<2>,
    triplets: &siamese_triplet::Triplets,
) -> usize {
    let sum = loss
        .clone()
        .with_reducer(Reducer::Sum)
        .forward(embeddings.clone().detach(), triplets);
    let mean = loss
        .clone()
        .with_reducer(Reducer::AvgNonZero)
        .forward(embeddings.clone().detach(), triplets);
    let (sum, mean) = (scalar(sum), scalar(mean));
    if mean == 0.0 {
        0
    } else {
        (sum / mean).round() as usize
    }
}

fn compute_pml_triplet_margin_miner(case: &Case) -> Computed {
    // PML's miner measures with its default distance: normalised L2.
    let distance = Euclidean::normalized();
    let section = &case.fixture["pml_triplet_margin_miner"];
    let mut counted_entries = Vec::new();
    let mut mined_entries = Vec::new();
    let mut banded_entries = Vec::new();
    let mut totals = (0, 0);
    for entry in case
        .entries("pml_triplet_margin_miner")
        .first()
        .map(|s| s["counts"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
    {
        let margin = float(&entry, "margin");
        let counts = PmlTripletCounts::count(&distance, margin, case.embeddings(), case.labels());
        totals = (counts.total, counts.exactly_zero_margin);
        counted_entries.push(serde_json::json!({
            "all": counts.all, "hard": counts.hard, "semihard": counts.semihard, "easy": counts.easy,
        }));
        let mined = |kind| {
            TripletMarginMiner::new(margin, kind, distance)
                .mine(case.embeddings(), case.labels())
                .len()
        };
        mined_entries.push(serde_json::json!({
            "all": mined(TripletType::All), "hard": mined(TripletType::Hard),
            "semihard": mined(TripletType::SemiHard), "easy": mined(TripletType::Easy),
        }));
        // The triplets a band loss sums over, never listed.
        let banded = |kind| {
            let band = TripletMarginMiner::new(margin, kind, distance).band();
            BandTripletLoss::new(margin, band, distance)
                .forward_with_counts(case.embeddings(), case.labels())
                .num_triplets
        };
        banded_entries.push(serde_json::json!({
            "all": banded(TripletType::All), "hard": banded(TripletType::Hard),
            "semihard": banded(TripletType::SemiHard), "easy": banded(TripletType::Easy),
        }));
    }
    let _ = section;
    let whole = |entries: Vec<Value>| {
        serde_json::json!({
            "total_triplets": totals.0,
            "num_exactly_zero_triplet_margins": totals.1,
            "counts": entries,
        })
    };
    vec![
        ("counted".into(), whole(counted_entries)),
        ("mined".into(), whole(mined_entries)),
        ("summed over a band".into(), whole(banded_entries)),
    ]
}

fn compute_batch_hard(case: &Case) -> Computed {
    let mut out = Vec::new();
    for entry in case.entries("batch_hard") {
        let distance = Euclidean::new();
        let embeddings = case.tracked();
        let triplets = BatchHardMiner::new(distance).mine(embeddings.clone(), case.labels());
        let loss = if flag(entry, "soft") {
            TripletMarginLoss::soft(distance)
        } else {
            TripletMarginLoss::new(float(entry, "margin"), distance).with_reducer(Reducer::Mean)
        };
        let value = loss.forward(embeddings.clone(), &triplets);
        out.push(merge(
            loss_entry(&embeddings, value, "loss", "grad"),
            serde_json::json!({"num_valid_anchors": triplets.len()}),
        ));
    }
    vec![("batch-hard miner + triplet loss".into(), out.into())]
}

fn compute_batch_all(case: &Case) -> Computed {
    let (mut counted, mut listed) = (Vec::new(), Vec::new());
    for entry in case.entries("batch_all") {
        let margin = float(entry, "margin");
        let distance = Euclidean::new();
        let (mut counted_entry, mut listed_entry) =
            (serde_json::Map::new(), serde_json::Map::new());
        for (reducer, loss_key, grad_key) in [
            (Reducer::Mean, "loss_mean_all", "grad_mean_all"),
            (
                Reducer::AvgNonZero,
                "loss_mean_positive",
                "grad_mean_positive",
            ),
        ] {
            let embeddings = case.tracked();
            let output = BatchAllTripletLoss::new(margin, distance)
                .with_reducer(reducer)
                .forward_with_counts(embeddings.clone(), case.labels());
            let fraction = if output.num_triplets == 0 {
                0.0
            } else {
                output.num_active as f64 / output.num_triplets as f64
            };
            counted_entry.extend(loss_entry(&embeddings, output.loss, loss_key, grad_key));
            counted_entry.insert("num_triplets".into(), output.num_triplets.into());
            counted_entry.insert("num_positive_triplets".into(), output.num_active.into());
            counted_entry.insert("fraction_positive".into(), fraction.into());

            let embeddings = case.tracked();
            let triplets = BatchAllMiner::new(distance).mine(embeddings.clone(), case.labels());
            let loss = TripletMarginLoss::new(margin, distance).with_reducer(reducer);
            let active = sum_active(&loss, &embeddings, &triplets);
            let value = loss.forward(embeddings.clone(), &triplets);
            listed_entry.extend(loss_entry(&embeddings, value, loss_key, grad_key));
            listed_entry.insert("num_triplets".into(), triplets.len().into());
            listed_entry.insert("num_positive_triplets".into(), active.into());
            let fraction = if triplets.is_empty() {
                0.0
            } else {
                active as f64 / triplets.len() as f64
            };
            listed_entry.insert("fraction_positive".into(), fraction.into());
        }
        counted.push(Value::Object(counted_entry));
        listed.push(Value::Object(listed_entry));
    }
    vec![
        ("counted".into(), counted.into()),
        ("listed".into(), listed.into()),
    ]
}

fn compute_semihard_tfa(case: &Case) -> Computed {
    let mut out = Vec::new();
    for entry in case.entries("semihard_tfa") {
        let margin = float(entry, "margin");
        let distance: Box<dyn Distance> = match text(entry, "distance") {
            "euclidean" => Box::new(Euclidean::new()),
            "sq_euclidean" => Box::new(SquaredEuclidean::new()),
            other => panic!("{}: semihard_tfa: unknown distance {other}", case.name()),
        };
        let embeddings = case.tracked();
        let triplets = TfaSemiHardMiner::new(&distance).mine(embeddings.clone(), case.labels());
        let loss = TripletMarginLoss::new(margin, &distance)
            .with_reducer(Reducer::Mean)
            .forward(embeddings.clone(), &triplets);
        out.push(merge(
            loss_entry(&embeddings, loss, "loss", "grad"),
            serde_json::json!({"num_positive_pairs": triplets.len()}),
        ));
    }
    vec![(
        "TF-Addons semi-hard miner + mean triplet loss".into(),
        out.into(),
    )]
}

fn compute_pml_contrastive(case: &Case) -> Computed {
    let mut out = Vec::new();
    for entry in case.entries("pml_contrastive") {
        let (pos_margin, neg_margin) = (float(entry, "pos_margin"), float(entry, "neg_margin"));
        let distance = Euclidean {
            normalize: flag(entry, "normalize_embeddings"),
        };
        let embeddings = case.tracked();
        let parts = ContrastiveLoss::new(distance)
            .with_margins(pos_margin, neg_margin)
            .forward_parts(embeddings.clone(), case.labels());
        let (positive, negative) = (
            scalar(parts.positive.clone()),
            scalar(parts.negative.clone()),
        );
        // Non-zero pair counts, from our distance matrix and masks.
        let masks = LabelMasks::new(case.labels());
        let values = distance.pairwise(case.embeddings());
        let nonzero_positive = count_true(
            values
                .clone()
                .greater_elem(pos_margin)
                .bool_and(masks.positive),
        );
        let nonzero_negative = count_true(values.lower_elem(neg_margin).bool_and(masks.negative));
        out.push(merge(loss_entry(&embeddings, parts.positive.add(parts.negative), "loss", "grad"), serde_json::json!({
            "pos_loss": positive, "neg_loss": negative,
            "num_nonzero_pos_pairs": nonzero_positive, "num_nonzero_neg_pairs": nonzero_negative,
        })));
    }
    vec![("contrastive".into(), out.into())]
}

fn compute_pml_circle_loss(case: &Case) -> Computed {
    let mut out = Vec::new();
    for entry in case.entries("pml_circle_loss") {
        let embeddings = case.tracked();
        let loss = CircleLoss::new(float(entry, "m"), float(entry, "gamma"))
            .forward(embeddings.clone(), case.labels());
        let anchors = LabelMasks::new(case.labels())
            .anchors_with_triplets()
            .int()
            .sum()
            .into_scalar::<i64>();
        out.push(merge(
            loss_entry(&embeddings, loss, "loss", "grad"),
            serde_json::json!({"num_valid_anchors": anchors}),
        ));
    }
    vec![("circle".into(), out.into())]
}

fn compute_pml_multi_similarity_loss(case: &Case) -> Computed {
    let out: Vec<Value> = case
        .entries("pml_multi_similarity_loss")
        .into_iter()
        .map(|entry| {
            let embeddings = case.tracked();
            let loss = MultiSimilarityLoss::new(
                float(entry, "alpha"),
                float(entry, "beta"),
                float(entry, "base"),
            )
            .forward(embeddings.clone(), case.labels());
            Value::Object(loss_entry(&embeddings, loss, "loss", "grad"))
        })
        .collect();
    let value = if case.fixture["pml_multi_similarity_loss"].is_array() {
        out.into()
    } else {
        out.into_iter().next().unwrap_or(Value::Null)
    };
    vec![("multi-similarity".into(), value)]
}

fn compute_pml_batch_easy_hard(case: &Case) -> Computed {
    let out: Vec<Value> = case
        .entries("pml_batch_easy_hard")
        .into_iter()
        .map(|entry| {
            let positive = match text(entry, "pos_strategy") {
                "easy" => PositiveStrategy::Easiest,
                "hard" => PositiveStrategy::Hardest,
                other => panic!("{}: unknown pos_strategy {other}", case.name()),
            };
            let negative = match text(entry, "neg_strategy") {
                "semihard" => NegativeStrategy::SemiHard,
                "hard" => NegativeStrategy::Hardest,
                "easy" => NegativeStrategy::Easiest,
                other => panic!("{}: unknown neg_strategy {other}", case.name()),
            };
            let distance = Euclidean::new();
            let embeddings = case.tracked();
            let triplets = BatchEasyHardMiner::new(distance)
                .with_strategies(positive, negative)
                .mine(embeddings.clone(), case.labels());
            let loss = TripletMarginLoss::new(float(entry, "margin"), distance)
                .with_reducer(Reducer::Mean)
                .forward(embeddings.clone(), &triplets);
            merge(
                loss_entry(&embeddings, loss, "loss", "grad"),
                serde_json::json!({"num_mined_triplets": triplets.len()}),
            )
        })
        .collect();
    let value = if case.fixture["pml_batch_easy_hard"].is_array() {
        out.into()
    } else {
        out.into_iter().next().unwrap_or(Value::Null)
    };
    vec![("batch-easy-hard miner + mean triplet loss".into(), value)]
}

fn compute_pml_accuracy(case: &Case) -> Computed {
    let metrics = retrieval_metrics(&Euclidean::new(), case.embeddings(), case.labels());
    vec![(
        "retrieval metrics".into(),
        serde_json::json!({
            "precision_at_1": metrics.precision_at_1,
            "r_precision": metrics.r_precision,
            "mean_average_precision_at_r": metrics.mean_average_precision_at_r,
            "num_queries": metrics.num_queries,
        }),
    )]
}

fn compute(section: &str, case: &Case) -> Computed {
    match section {
        "counts" => compute_counts(case),
        "distances" => compute_distances(case),
        "pml_triplet_margin_loss" => compute_pml_triplet_margin_loss(case),
        "pml_triplet_margin_miner" => compute_pml_triplet_margin_miner(case),
        "batch_hard" => compute_batch_hard(case),
        "batch_all" => compute_batch_all(case),
        "semihard_tfa" => compute_semihard_tfa(case),
        "pml_contrastive" => compute_pml_contrastive(case),
        "pml_circle_loss" => compute_pml_circle_loss(case),
        "pml_multi_similarity_loss" => compute_pml_multi_similarity_loss(case),
        "pml_batch_easy_hard" => compute_pml_batch_easy_hard(case),
        "pml_accuracy" => compute_pml_accuracy(case),
        other => panic!("no computation for section {other}"),
    }
}

/// The expected part of a case for a section ("counts" gathers the top-level numbers).
fn expected_section(case: &Value, section: &str) -> Value {
    if section == "counts" {
        let counts = CASE_COUNTS
            .iter()
            .map(|key| (key.to_string(), case[*key].clone()))
            .collect();
        Value::Object(counts)
    } else {
        case[section].clone()
    }
}

// ---- comparing --------------------------------------------------------------------------

/// One expected number and what we computed for it.
struct Leaf<'a> {
    path: String,
    expected: &'a serde_json::Number,
    actual: &'a Value,
    /// Tolerance scale: the largest entry of the enclosing matrix for circle-loss
    /// gradients, 0 otherwise.
    scale: f64,
}

/// Walks `expected` beside `actual`, collecting every expected number as a [`Leaf`] and
/// every structural difference as a mismatch. `null` means "not defined here": skipped.
/// Inputs and parameters ([`NOT_RESULTS`]) are not expected results and are skipped.
fn walk<'a>(
    section: &str,
    path: String,
    expected: &'a Value,
    actual: &'a Value,
    scale: f64,
    leaves: &mut Vec<Leaf<'a>>,
    mismatches: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::Null, _) => {}
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                if NOT_RESULTS.contains(&key.as_str()) {
                    continue;
                }
                match actual.get(key) {
                    Some(actual) => walk(
                        section,
                        format!("{path}.{key}"),
                        value,
                        actual,
                        scale,
                        leaves,
                        mismatches,
                    ),
                    None => mismatches.push(format!("{path}.{key}: expected but not computed")),
                }
            }
        }
        (Value::Array(expected_items), Value::Array(actual_items)) => {
            if expected_items.len() != actual_items.len() {
                mismatches.push(format!(
                    "{path}: {} entries expected, {} computed",
                    expected_items.len(),
                    actual_items.len()
                ));
                return;
            }
            // Circle-loss gradients reach ~90: compare them relative to the largest entry.
            let is_matrix = expected_items.first().is_some_and(Value::is_array);
            let scale = if section == "pml_circle_loss" && is_matrix {
                largest_entry(expected_items)
            } else {
                scale
            };
            for (index, (e, a)) in expected_items.iter().zip(actual_items).enumerate() {
                walk(
                    section,
                    format!("{path}[{index}]"),
                    e,
                    a,
                    scale,
                    leaves,
                    mismatches,
                );
            }
        }
        (Value::Number(expected), actual) => leaves.push(Leaf {
            path,
            expected,
            actual,
            scale,
        }),
        (expected, actual) => {
            mismatches.push(format!("{path}: expected {expected}, computed {actual}"))
        }
    }
}

/// Integers compare exactly; other numbers to `TOLERANCE` absolute + relative, or relative
/// to `scale` when it is larger.
fn leaf_matches(expected: &serde_json::Number, actual: &Value, scale: f64) -> bool {
    let Some(actual) = actual.as_number() else {
        return false;
    };
    if let (Some(e), Some(a)) = (expected.as_u64(), actual.as_u64()) {
        return e == a;
    }
    let (Some(e), Some(a)) = (expected.as_f64(), actual.as_f64()) else {
        return false;
    };
    if expected.is_u64() || expected.is_i64() {
        return e == a;
    }
    (a - e).abs() <= TOLERANCE * scale.max(1.0 + e.abs())
}

/// Every mismatch between an expected section and a computed one.
fn compare(section: &str, path: &str, expected: &Value, actual: &Value) -> Vec<String> {
    let (mut leaves, mut mismatches) = (Vec::new(), Vec::new());
    walk(
        section,
        path.to_string(),
        expected,
        actual,
        0.0,
        &mut leaves,
        &mut mismatches,
    );
    for leaf in leaves {
        if !leaf_matches(leaf.expected, leaf.actual, leaf.scale) {
            mismatches.push(format!(
                "{}: got {}, expected {}",
                leaf.path, leaf.actual, leaf.expected
            ));
        }
    }
    mismatches
}

fn largest_entry(rows: &[Value]) -> f64 {
    rows.iter()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .filter_map(Value::as_f64)
        .fold(0.0, |m, x| m.max(x.abs()))
}

/// Compares every case's `section` against what `device` computes.
fn assert_section(device: &Device, section: &str) {
    let mut mismatches = Vec::new();
    for fixture_case in cases() {
        let case = Case {
            fixture: fixture_case,
            device: device.clone(),
        };
        if section != "counts" && fixture_case.get(section).is_none() {
            mismatches.push(format!("{}: section {section} is missing", case.name()));
            continue;
        }
        let expected = expected_section(fixture_case, section);
        for (how, actual) in compute(section, &case) {
            mismatches.extend(compare(
                section,
                &format!("{} {section} ({how})", case.name()),
                &expected,
                &actual,
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} {section} comparisons failed:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Every key of every case is an input, metadata, or in a checked section.
#[test]
fn fixture_has_no_unchecked_sections() {
    let unknown: Vec<String> = cases()
        .iter()
        .flat_map(|case| {
            let name = case["name"].as_str().unwrap_or("<unnamed>").to_string();
            case.as_object()
                .into_iter()
                .flat_map(|fields| fields.keys())
                .filter(|key| {
                    !NOT_RESULTS.contains(&key.as_str())
                        && !SECTIONS.contains(&key.as_str())
                        && !CASE_COUNTS.contains(&key.as_str())
                })
                .map(move |key| format!("{name}: {key}"))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "fixture sections no test checks:\n{}",
        unknown.join("\n")
    );
}

/// Changes every expected number of the file by 0.01 (integers by 1), one at a time, and
/// checks that the comparison the tests use rejects each change: the suite compares every
/// number, it does not just parse them.
#[test]
fn every_expected_number_is_compared() {
    let device = common::backends()
        .into_iter()
        .next()
        .expect("a compiled backend")
        .1;
    let mut uncaught = Vec::new();
    let mut changed = 0;
    for fixture_case in cases() {
        let case = Case {
            fixture: fixture_case,
            device: device.clone(),
        };
        for section in SECTIONS {
            let expected = expected_section(fixture_case, section);
            for (how, actual) in compute(section, &case) {
                let (mut leaves, mut structure) = (Vec::new(), Vec::new());
                walk(
                    section,
                    String::new(),
                    &expected,
                    &actual,
                    0.0,
                    &mut leaves,
                    &mut structure,
                );
                assert!(
                    structure.is_empty(),
                    "{} {section}: {structure:?}",
                    case.name()
                );
                for leaf in leaves {
                    let value = leaf.expected.as_f64().expect("number");
                    let shifted = if leaf.expected.is_u64() || leaf.expected.is_i64() {
                        serde_json::Number::from(value as i64 + 1)
                    } else {
                        serde_json::Number::from_f64(value + 0.01).expect("finite")
                    };
                    changed += 1;
                    if leaf_matches(&shifted, leaf.actual, leaf.scale) {
                        uncaught.push(format!("{} {section} ({how}){}", case.name(), leaf.path));
                    }
                }
            }
        }
    }
    assert!(changed > 0, "no expected number found");
    assert!(
        uncaught.is_empty(),
        "{} of {changed} changed numbers went unnoticed:\n{}",
        uncaught.len(),
        uncaught.join("\n")
    );
}

macro_rules! backend_suite {
    ($backend:ident, $device:expr) => {
        mod $backend {
            use super::*;

            fn device() -> Option<Device> {
                #[allow(deprecated)]
                $device
            }

            #[test]
            fn pair_and_triplet_counts_match_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "counts");
                }
            }

            #[test]
            fn distances_match_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "distances");
                }
            }

            #[test]
            fn pml_triplet_margin_loss_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "pml_triplet_margin_loss");
                }
            }

            #[test]
            fn pml_triplet_margin_miner_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "pml_triplet_margin_miner");
                }
            }

            #[test]
            fn batch_hard_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "batch_hard");
                }
            }

            #[test]
            fn batch_all_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "batch_all");
                }
            }

            #[test]
            fn semihard_tfa_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "semihard_tfa");
                }
            }

            #[test]
            fn contrastive_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "pml_contrastive");
                }
            }

            #[test]
            fn circle_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "pml_circle_loss");
                }
            }

            #[test]
            fn multi_similarity_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "pml_multi_similarity_loss");
                }
            }

            #[test]
            fn batch_easy_hard_matches_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "pml_batch_easy_hard");
                }
            }

            #[test]
            fn retrieval_metrics_match_oracle() {
                if let Some(device) = device() {
                    assert_section(&device, "pml_accuracy");
                }
            }
        }
    };
}

#[cfg(feature = "flex")]
backend_suite!(flex, Some(Device::flex()));
#[cfg(feature = "ndarray")]
backend_suite!(ndarray, Some(Device::ndarray()));
#[cfg(feature = "wgpu")]
backend_suite!(wgpu, common::wgpu::test_device());
