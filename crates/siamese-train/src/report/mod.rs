//! Pictures of a run: PNG charts of its diagnostics and of its final embedding, and a
//! self-contained `report.html` (the images inlined, no network) with the configuration
//! and the final metrics.

pub mod charts;
mod pca;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use siamese_triplet::metrics::VerificationMetrics;

use crate::TrainError;
use crate::config::{LossKind, TrainConfig};
use crate::diagnostics::Record;
use crate::evaluate::first;
use crate::run_dir::{RunDir, SUMMARY_FILE, write_atomic};
use crate::trainer::TrainedModel;
use crate::verification::Calibration;
use charts::{PALETTE, Series};

pub use pca::project_2d;

/// The report's file in the run directory.
pub const REPORT_FILE: &str = "report.html";
/// Evaluation examples embedded for the distance histograms, the ROC and the map.
const MAX_POINTS: usize = 2000;

/// The PNG files of a report, in the order the page shows them, with captions.
const CHARTS: [(&str, &str); 6] = [
    (
        "loss.png",
        "Training loss and the fraction of active triplets (inside the margin)",
    ),
    (
        "triplet-classes.png",
        "Easy / semi-hard / hard triplets in each batch (FaceNet definitions)",
    ),
    (
        "metrics.png",
        "Held-out retrieval metrics at each evaluation",
    ),
    (
        "distances.png",
        "Distances of same-class and different-class pairs of held-out examples",
    ),
    (
        "roc.png",
        "Verification ROC on all pairs of the held-out examples shown",
    ),
    (
        "embedding-map.png",
        "Held-out embeddings projected on their two principal axes (PCA)",
    ),
];

/// Writes the charts and `report.html` into `run`; returns the page's path.
pub fn write_report(
    run: &RunDir,
    config: &TrainConfig,
    device: &Device,
) -> Result<PathBuf, TrainError> {
    let dir = run.path();
    let records = run.records()?;
    training_charts(dir, &records)?;
    let held_out = embedding_charts(run, config, device)?;
    let page = page(run, config, &held_out)?;
    let path = dir.join(REPORT_FILE);
    write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

fn training_charts(dir: &Path, records: &[Record]) -> Result<(), TrainError> {
    let steps: Vec<&crate::diagnostics::StepRecord> = records
        .iter()
        .filter_map(|record| match record {
            Record::Step(step) => Some(step),
            Record::Eval(_) => None,
        })
        .collect();
    let series = |label, color, value: fn(&crate::diagnostics::StepRecord) -> f64| Series {
        label,
        points: steps.iter().map(|s| (s.step as f64, value(s))).collect(),
        color,
    };
    charts::line_panels(
        &dir.join(CHARTS[0].0),
        "optimiser step",
        &[
            (
                "Training loss",
                "loss (batch)",
                vec![series("loss", PALETTE[0], |s| s.loss)],
            ),
            (
                "Active triplets",
                "fraction with d_an < d_ap + margin",
                vec![series("active", PALETTE[5], |s| s.active_fraction)],
            ),
        ],
    )?;
    charts::stacked_fractions(
        &dir.join(CHARTS[1].0),
        "Triplet difficulty per batch (moving average over steps)",
        "optimiser step",
        &[
            series("hard: d_an < d_ap", PALETTE[5], |s| s.hard_fraction),
            series("semi-hard: d_ap < d_an < d_ap + m", PALETTE[1], |s| {
                s.semi_hard_fraction
            }),
            series("easy: d_an > d_ap + m", PALETTE[2], |s| s.easy_fraction),
        ],
    )?;
    let evals: Vec<&crate::diagnostics::EvalRecord> = records
        .iter()
        .filter_map(|record| match record {
            Record::Eval(eval) => Some(eval),
            Record::Step(_) => None,
        })
        .collect();
    let metric = |label, color, value: fn(&crate::diagnostics::EvalRecord) -> f64| Series {
        label,
        points: evals.iter().map(|e| (e.step as f64, value(e))).collect(),
        color,
    };
    let queries: Vec<usize> = evals.iter().map(|e| e.queries).collect();
    let title = match (queries.first(), queries.last()) {
        (Some(first), Some(last)) if first != last => format!(
            "Held-out retrieval: earlier points on {first} queries, the last on {last} (not comparable)"
        ),
        (Some(count), _) => format!("Held-out retrieval ({count} queries)"),
        _ => "Held-out retrieval (no evaluation recorded)".to_string(),
    };
    charts::line_panels(
        &dir.join(CHARTS[2].0),
        "optimiser step",
        &[(
            title.as_str(),
            "metric value",
            vec![
                metric("precision@1", PALETTE[0], |e| e.precision_at_1),
                metric("R-precision", PALETTE[1], |e| e.r_precision),
                metric("MAP@R", PALETTE[2], |e| e.mean_average_precision_at_r),
            ],
        )],
    )
}

/// What the embedding charts found, for the page.
struct HeldOut {
    examples: usize,
    metrics: VerificationMetrics,
    threshold: f64,
    threshold_source: String,
    explained: [f64; 2],
}

fn embedding_charts(
    run: &RunDir,
    config: &TrainConfig,
    device: &Device,
) -> Result<HeldOut, TrainError> {
    let dir = run.path();
    let splits = config.dataset.load(config.split, config.seed)?;
    let model = TrainedModel::load(run, splits.train.shape(), device)?;
    let shown = first(&splits.eval, MAX_POINTS);
    let embeddings = model.embed(&shown, device)?;
    let [rows, dim] = embeddings.dims();
    let distance = crate::objective::distance(config.distance);
    let matrix = distance.pairwise(embeddings.clone());
    let values: Vec<f32> = matrix
        .try_into_vec_as::<f32>()
        .map_err(|error| TrainError::run(dir, format!("reading distances: {error:?}")))?;
    let labels = shown.labels();
    let (mut same, mut different) = (Vec::new(), Vec::new());
    for i in 0..rows {
        for j in i + 1..rows {
            let value = f64::from(values[i * rows + j]);
            if labels[i] == labels[j] {
                same.push(value);
            } else {
                different.push(value);
            }
        }
    }
    // Verification scores are dissimilarities: a similarity is negated.
    let sign = if distance.smaller_is_closer() {
        1.0
    } else {
        -1.0
    };
    let scores: Vec<f64> = same.iter().chain(&different).map(|v| sign * v).collect();
    let flags: Vec<bool> = (0..same.len() + different.len())
        .map(|index| index < same.len())
        .collect();
    let metrics = VerificationMetrics::new(&scores, &flags)
        .map_err(|error| TrainError::run(dir, format!("verification: {error}")))?;
    let (threshold, threshold_source) = match Calibration::load(run) {
        Ok(calibration) => (
            calibration.threshold,
            "calibrated by `siamese verify` (its EER point)".to_string(),
        ),
        Err(_) => (
            metrics.eer_threshold,
            "the EER point of these pairs (run `siamese verify` to calibrate one)".to_string(),
        ),
    };
    let distance_name = format!("{:?}", config.distance).to_lowercase();
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let mut markers = vec![(
        format!("decision threshold {:.3}", sign * threshold),
        sign * threshold,
        PALETTE[7],
    )];
    if config.loss == LossKind::Triplet && distance.smaller_is_closer() {
        let at = mean(&same) + config.margin;
        markers.push((
            format!("mean same-class distance + margin {}", config.margin),
            at,
            PALETTE[5],
        ));
    }
    charts::histograms(
        &dir.join(CHARTS[3].0),
        &format!("Pair distances, {rows} held-out examples"),
        &format!(
            "{distance_name} {}",
            if sign > 0.0 { "distance" } else { "similarity" }
        ),
        &[
            ("same class", &same, PALETTE[0]),
            ("different classes", &different, PALETTE[1]),
        ],
        &markers,
    )?;
    let curve: Vec<(f64, f64)> = metrics.roc.iter().map(|p| (p.far, p.tar)).collect();
    charts::roc(
        &dir.join(CHARTS[4].0),
        &format!("ROC, AUC {:.4}", metrics.auc),
        &curve,
        (1.0 / metrics.different_pairs as f64).max(1e-6),
        (
            &format!("equal error rate {:.4}", metrics.eer),
            metrics.eer,
            1.0 - metrics.eer,
        ),
    )?;
    let flat: Vec<f32> = embeddings
        .try_into_vec_as::<f32>()
        .map_err(|error| TrainError::run(dir, format!("reading embeddings: {error:?}")))?;
    let (points, explained) = project_2d(&flat, rows, dim);
    let labelled: Vec<(f64, f64, usize)> = points
        .iter()
        .zip(labels)
        .map(|(point, &label)| (point.0, point.1, label))
        .collect();
    charts::scatter(
        &dir.join(CHARTS[5].0),
        &format!("Embedding map (PCA of {rows} held-out embeddings, {dim}-d)"),
        (
            &format!(
                "principal axis 1 ({:.0} % of variance)",
                100.0 * explained[0]
            ),
            &format!(
                "principal axis 2 ({:.0} % of variance)",
                100.0 * explained[1]
            ),
        ),
        &labelled,
        shown.class_names(),
    )?;
    Ok(HeldOut {
        examples: rows,
        metrics,
        threshold,
        threshold_source,
        explained,
    })
}

/// Standard base64 (RFC 4648) of `bytes`, for inlining the images.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |word, (i, &b)| word | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn page(run: &RunDir, config: &TrainConfig, held_out: &HeldOut) -> Result<String, TrainError> {
    let dir = run.path();
    let summary = std::fs::read_to_string(dir.join(SUMMARY_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    let mut html = String::new();
    let name = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>siamese run {}</title>\n\
         <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 10px;text-align:right}}\
         th{{background:#eee}}figure{{margin:2em 0}}img{{max-width:100%;border:1px solid #ddd}}\
         pre{{background:#f6f6f6;padding:1em;overflow:auto}}</style></head><body>\n\
         <h1>Run <code>{}</code></h1>\n",
        escape(&name),
        escape(&name)
    );
    let _ = writeln!(html, "<h2>Final metrics</h2>");
    match summary {
        Some(summary) => {
            let _ = writeln!(
                html,
                "<p>Protocol: the held-out set is both query and reference set (each query \
                 excluded from its own neighbours); kNN accuracy is of held-out queries \
                 against the training gallery. {} steps, dataset {}, split {}.</p>",
                summary["steps"],
                escape(config.dataset.name()),
                summary["split"].as_str().unwrap_or("?")
            );
            let _ = writeln!(
                html,
                "<table><tr><th></th><th>precision@1</th><th>R-precision</th><th>MAP@R</th><th>kNN accuracy</th><th>queries</th></tr>"
            );
            for (label, key) in [
                ("raw values (baseline)", "baseline"),
                ("trained embedding", "held_out"),
            ] {
                let m = &summary[key];
                let number = |field: &str| {
                    m[field]
                        .as_f64()
                        .map_or("–".to_string(), |v| format!("{v:.4}"))
                };
                let _ = writeln!(
                    html,
                    "<tr><th>{label}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    number("precision_at_1"),
                    number("r_precision"),
                    number("mean_average_precision_at_r"),
                    number("knn_accuracy"),
                    m["queries"]
                );
            }
            let _ = writeln!(html, "</table>");
        }
        None => {
            let _ = writeln!(html, "<p>No summary.json: the run has not finished.</p>");
        }
    }
    let m = &held_out.metrics;
    let _ = writeln!(
        html,
        "<p>Verification on all {} same-class and {} different-class pairs of {} held-out \
         examples: ROC AUC {:.4}, equal error rate {:.4}, best accuracy {:.4}. Decision \
         threshold {:.4}: {}. The embedding map is a PCA projection (axes explain {:.0} % \
         and {:.0} % of the variance); classes that overlap there may still separate in \
         the full dimension.</p>",
        m.same_pairs,
        m.different_pairs,
        held_out.examples,
        m.auc,
        m.eer,
        m.best_accuracy,
        held_out.threshold,
        escape(&held_out.threshold_source),
        100.0 * held_out.explained[0],
        100.0 * held_out.explained[1],
    );
    for (file, caption) in CHARTS {
        let bytes = std::fs::read(dir.join(file))
            .map_err(|error| TrainError::run(&dir.join(file), format!("cannot read: {error}")))?;
        let _ = writeln!(
            html,
            "<figure><img alt=\"{caption}\" src=\"data:image/png;base64,{}\"><figcaption>{caption} ({file})</figcaption></figure>",
            base64(&bytes)
        );
    }
    let _ = writeln!(
        html,
        "<h2>Configuration</h2><pre>{}</pre></body></html>",
        escape(&config.to_json())
    );
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }
}
