//! Helpers shared by the command-line tests: running the binary, checking its outcome, and
//! generating small datasets.
#![allow(dead_code)] // each test crate uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The wgpu device of the `wgpu` tests, shared with the library crates' tests.
#[cfg(feature = "wgpu")]
#[path = "../../crates/siamese-triplet/tests/common/wgpu.rs"]
pub mod wgpu;

/// Runs the `siamese` binary with `args` in `cwd`.
pub fn siamese(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siamese"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the siamese binary runs")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Succeeds; returns standard output (progress goes to standard error).
#[track_caller]
pub fn succeeds(output: Output) -> String {
    assert!(
        output.status.success(),
        "expected success, got {}:\n{}",
        output.status,
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails cleanly: non-zero exit, no panic, and a message containing every `needle`.
#[track_caller]
pub fn fails_with(output: Output, needles: &[&str]) {
    let all = text(&output);
    assert!(!output.status.success(), "expected failure:\n{all}");
    assert!(!all.contains("panicked"), "panicked:\n{all}");
    for needle in needles {
        assert!(
            all.contains(needle),
            "the error should mention {needle:?}:\n{all}"
        );
    }
}

pub fn summary(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary is JSON")
}

pub fn last_line(output: &str) -> &str {
    output
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
}

/// `train` on a folder from [`image_folder`]: 12×12 images, `classes` × `samples` per batch,
/// `steps` steps; further flags follow.
pub fn folder_train<'a>(
    images: &'a str,
    classes: &'a str,
    samples: &'a str,
    steps: &'a str,
) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        images,
        "--image-size",
        "12x12",
        "--classes-per-batch",
        classes,
        "--samples-per-class",
        samples,
        "--steps",
        steps,
    ]
}

/// Three classes of 12×12 grey images: a bright bar (horizontal, vertical, diagonal) with
/// noise.
pub fn image_folder(root: &Path, per_class: usize) -> PathBuf {
    let dir = root.join("images");
    let mut state = 7u64;
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % 60) as u8
    };
    for (class, name) in ["horizontal", "vertical", "diagonal"].iter().enumerate() {
        let class_dir = dir.join(name);
        std::fs::create_dir_all(&class_dir).expect("class folder");
        for index in 0..per_class {
            let offset = (index % 4) as u32 + 4;
            let image = image::GrayImage::from_fn(12, 12, |x, y| {
                let on = match class {
                    0 => y == offset,
                    1 => x == offset,
                    _ => x == y,
                };
                image::Luma([if on { 230 } else { noise() }])
            });
            image
                .save(class_dir.join(format!("{index:02}.png")))
                .expect("png");
        }
    }
    dir
}

/// Three well-separated Gaussian-ish blobs of 6 features, with a header and named labels.
pub fn feature_csv(root: &Path) -> PathBuf {
    let path = root.join("features.csv");
    let mut state = 11u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f64 / (1u64 << 24) as f64 - 0.5
    };
    let mut rows = vec!["f1,f2,f3,f4,f5,f6,species".to_string()];
    for (class, name) in ["ant", "bee", "cat"].iter().enumerate() {
        for _ in 0..20 {
            let values: Vec<String> = (0..6)
                .map(|j| format!("{:.4}", if j % 3 == class { 3.0 } else { 0.0 } + uniform()))
                .collect();
            rows.push(format!("{},{name}", values.join(",")));
        }
    }
    std::fs::write(&path, rows.join("\n")).expect("csv");
    path
}

pub const QUICK: &[&str] = &["--eval-every", "0", "--checkpoint-every", "0", "--quiet"];

/// Rows of a float32 `[n, dim]` .npy file written by `siamese embed`.
pub fn npy_rows(path: &Path) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).expect("npy");
    let header_length = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_length]).expect("header");
    let columns: usize = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|shape| shape.split(',').nth(1))
        .and_then(|columns| columns.trim().parse().ok())
        .expect("shape");
    let values: Vec<f32> = bytes[10 + header_length..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    values.chunks(columns).map(<[f32]>::to_vec).collect()
}

pub fn npy_labels(path: &Path) -> Vec<i64> {
    let bytes = std::fs::read(path).expect("labels npy");
    let header_length = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    bytes[10 + header_length..]
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect()
}
