//! Every input kept under `fuzz/regressions/<target>/` — the seeds and whatever the
//! cargo-fuzz targets found — run through the same readers on stable: each must return
//! (an error or a value), never panic; the valid seeds (`seed-*`) must be read. The targets
//! themselves are in `fuzz/` (nightly).

use std::path::{Path, PathBuf};

use siamese_train::TrainConfig;
use siamese_train::checkpoint::parse_state;
use siamese_train::data::{parse_feature_csv, parse_idx_pair};
use siamese_train::npy::{parse_f32_matrix, parse_i64_vector};

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files
}

/// A valid seed input, which the reader must accept.
fn is_seed(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("seed-"))
}

/// Checks `result` is `Ok` for a seed.
fn check<T, E: std::fmt::Display>(path: &Path, result: Result<T, E>) {
    if let (true, Err(error)) = (is_seed(path), &result) {
        panic!("the seed {} is valid, but: {error}", path.display());
    }
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn idx_inputs_are_read_or_rejected() {
    for path in inputs("idx") {
        let data = bytes(&path);
        let Some((split, rest)) = data.split_first_chunk::<2>() else {
            continue;
        };
        let at = usize::from(u16::from_le_bytes(*split)).min(rest.len());
        let (images, labels) = rest.split_at(at);
        check(
            &path,
            parse_idx_pair(images, labels, Path::new("images"), Path::new("labels")),
        );
    }
}

#[test]
fn csv_inputs_are_read_or_rejected() {
    for path in inputs("csv") {
        if let Ok(text) = String::from_utf8(bytes(&path)) {
            check(&path, parse_feature_csv(&text, None, &path));
            let _ = parse_feature_csv(&text, Some("label"), &path);
        }
    }
}

#[test]
fn npy_inputs_are_read_or_rejected() {
    for path in inputs("npy") {
        let data = bytes(&path);
        let matrix = parse_f32_matrix(&data, &path);
        let vector = parse_i64_vector(&data, 3, &path);
        if is_seed(&path) {
            assert!(matrix.is_ok() || vector.is_ok(), "{}", path.display());
        }
    }
}

#[test]
fn config_inputs_are_read_or_rejected() {
    for path in inputs("config") {
        if let Ok(text) = String::from_utf8(bytes(&path)) {
            let config = TrainConfig::from_json(&text, &path);
            if let Ok(config) = &config {
                let total = config.total_steps(1000);
                for step in [0, total / 2, total.saturating_sub(1)] {
                    assert!(config.learning_rate(step, total).is_finite());
                }
            }
            check(&path, config);
        }
    }
}

#[test]
fn checkpoint_inputs_are_read_or_rejected() {
    for path in inputs("checkpoint") {
        if let Ok(text) = String::from_utf8(bytes(&path)) {
            check(&path, parse_state(&text, &path));
        }
    }
}
