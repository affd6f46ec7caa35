//! PNG bar charts of benchmark results and the loss-curve chart of `bench/peer/compare.py`,
//! drawn with the report's charts (`siamese::train::report::charts`).

use std::path::Path;

use serde_json::Value;
use siamese::train::report::charts::{self, Bar, BarGroup, PALETTE, Series};

use super::Measurement;

/// Our backends side by side: one group per method and batch size, one bar per backend
/// (items per second at the median step, whiskers from the slowest to the fastest step).
pub fn backends(
    path: &Path,
    name: &str,
    backends: &[String],
    results: &[Measurement],
) -> Result<(), String> {
    let label = |m: &Measurement| format!("{} B={}", m.method, m.batch);
    let mut labels: Vec<String> = Vec::new();
    for m in results {
        if !labels.contains(&label(m)) {
            labels.push(label(m));
        }
    }
    let groups: Vec<BarGroup> = labels
        .into_iter()
        .map(|group| {
            let bars = backends
                .iter()
                .map(|backend| {
                    results
                        .iter()
                        .find(|m| &m.backend == backend && label(m) == group)
                        .map(|m| Bar {
                            value: m.per_second,
                            low: m.batch as f64 / (m.max_ms / 1e3),
                            high: m.batch as f64 / (m.min_ms / 1e3),
                        })
                        .ok_or_else(|| "failed".to_string())
                })
                .collect();
            BarGroup { label: group, bars }
        })
        .collect();
    let series: Vec<(&str, _)> = backends
        .iter()
        .enumerate()
        .map(|(index, backend)| (backend.as_str(), PALETTE[index % PALETTE.len()]))
        .collect();
    charts::horizontal_bars(
        path,
        &format!("{name}: batch elements per second (median; whiskers: slowest–fastest step)"),
        "batch elements per second",
        &series,
        &groups,
        None,
    )
    .map_err(|error| error.to_string())
}

/// The rows of `target/bench-compare.json` as ratio bars, ours / peer, one per
/// configuration (whiskers: the lowest and highest ratio of the rounds), with the line of
/// parity at 1.
pub fn comparison(json: &Path, png: &Path) -> Result<(), String> {
    let rows = read_json(json)?;
    let rows = rows
        .as_array()
        .ok_or_else(|| format!("{} is not a list of comparison rows", json.display()))?;
    let groups: Vec<BarGroup> = rows
        .iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap_or("?").to_string();
            let number = |key: &str| row[key].as_f64();
            let label = format!(
                "{} {} B={} {} thr",
                text("kind"),
                text("method"),
                row["batch"],
                row["threads"]
            );
            let bar = match (number("ratio"), number("ratio_min"), number("ratio_max")) {
                (Some(value), Some(low), Some(high)) => Ok(Bar { value, low, high }),
                _ => Err(row["error"]
                    .as_str()
                    .map_or("no result".to_string(), |error| {
                        format!("failed: {}", error.chars().take(60).collect::<String>())
                    })),
            };
            BarGroup {
                label,
                bars: vec![bar],
            }
        })
        .collect();
    let backend = rows
        .first()
        .and_then(|row| row["backend"].as_str())
        .unwrap_or("flex");
    charts::horizontal_bars(
        png,
        &format!("ours ({backend}) / PyTorch + PML, speed ratio from interleaved runs"),
        "speed ratio, ours / peer (above 1: ours is faster)",
        &[("ours / peer (median of the rounds)", PALETTE[0])],
        &groups,
        Some(("parity (1)", 1.0)),
    )
    .map_err(|error| error.to_string())
}

/// `{"ours": [loss per step], "peer": [loss per step]}` as two loss curves.
pub fn loss_curves(json: &Path, png: &Path) -> Result<(), String> {
    let curves = read_json(json)?;
    let points = |key: &str| -> Result<Vec<(f64, f64)>, String> {
        let losses = curves[key]
            .as_array()
            .ok_or_else(|| format!("{} has no list {key:?} of losses", json.display()))?;
        Ok(losses
            .iter()
            .enumerate()
            .map(|(step, loss)| ((step + 1) as f64, loss.as_f64().unwrap_or(f64::NAN)))
            .collect())
    };
    let series = vec![
        Series {
            label: "ours (flex)",
            points: points("ours")?,
            color: PALETTE[0],
        },
        Series {
            label: "PyTorch + PML",
            points: points("peer")?,
            color: PALETTE[5],
        },
    ];
    charts::line_panels(
        png,
        "step",
        &[(
            "batch-hard triplet loss (margin 0.2), same network, data and optimiser",
            "loss",
            series,
        )],
    )
    .map_err(|error| error.to_string())
}

/// The JSON value in the file at `path`, or why not.
fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{} is not JSON: {error}", path.display()))
}
