//! The `siamese` command as a user runs it: every command on small generated data, a short
//! real MNIST-5k training, exact resume, and clear errors for bad input.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

#[test]
fn image_folder_run_trains_evaluates_embeds_and_searches() {
    let root = tempfile::tempdir().expect("temporary directory");
    let images = image_folder(root.path(), 10);
    let images = images.to_str().expect("utf-8 path");
    let mut args = [
        folder_train(images, "3", "4", "12"),
        vec!["--name", "folder-run"],
    ]
    .concat();
    args.extend_from_slice(QUICK);
    let output = succeeds(siamese(&args, root.path()));
    assert!(
        last_line(&output).starts_with("held-out: precision@1 "),
        "{output}"
    );
    let run = root.path().join("runs/folder-run");
    for file in [
        "config.json",
        "diagnostics.jsonl",
        "summary.json",
        "model/model.bpk",
        "model/model-config.json",
    ] {
        assert!(run.join(file).is_file(), "{file} is missing");
    }
    let trained = summary(&run);

    let output = succeeds(siamese(&["eval", "--run", "runs/folder-run"], root.path()));
    let evaluated = last_line(&output).to_string();
    let expected = format!(
        "precision@1 {:.4}",
        trained["held_out"]["precision_at_1"]
            .as_f64()
            .expect("number")
    );
    assert!(
        evaluated.contains(&expected),
        "eval gives the training's metrics: {evaluated} vs {expected}"
    );

    succeeds(siamese(
        &[
            "embed",
            "--run",
            "runs/folder-run",
            "--input",
            "eval",
            "--out",
            "eval.npy",
        ],
        root.path(),
    ));
    check_npy(&root.path().join("eval.npy"), 6, 64);
    succeeds(siamese(
        &[
            "embed",
            "--run",
            "runs/folder-run",
            "--input",
            images,
            "--out",
            "all.npy",
        ],
        root.path(),
    ));
    check_npy(&root.path().join("all.npy"), 30, 64);
    assert!(root.path().join("all.labels.npy").is_file());

    let query = format!("{images}/vertical/03.png");
    let output = succeeds(siamese(
        &[
            "search",
            "--run",
            "runs/folder-run",
            "--query",
            &query,
            "--k",
            "3",
        ],
        root.path(),
    ));
    let rows: Vec<&str> = output
        .lines()
        .filter(|line| line.trim_start().starts_with(char::is_numeric))
        .collect();
    assert_eq!(rows.len(), 3, "{output}");
    let output = succeeds(siamese(
        &[
            "search",
            "--run",
            "runs/folder-run",
            "--query",
            &query,
            "--k",
            "2",
            "--gallery",
            "all.npy",
        ],
        root.path(),
    ));
    assert!(output.contains("the 2 nearest of 30"), "{output}");
}

/// The file is what NumPy reads: magic, version 1.0, a 64-byte-aligned header describing
/// little-endian float32 `[rows, columns]` in C order, and exactly the data after it; when
/// NumPy is installed, NumPy itself loads it.
fn check_npy(path: &Path, rows: usize, columns: usize) {
    let bytes = std::fs::read(path).expect("npy file");
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    assert_eq!((10 + header_len) % 64, 0, "header aligned to 64 bytes");
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).expect("ascii header");
    assert_eq!(
        header.trim_end(),
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}")
    );
    assert!(header.ends_with('\n'));
    assert_eq!(bytes.len() - 10 - header_len, rows * columns * 4);
    let values: Vec<f32> = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let norm: f32 = values[..columns].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() < 1e-4,
        "embeddings are unit vectors, first row norm {norm}"
    );
    let numpy = Command::new("python3")
        .args(["-c", &format!("import numpy; a = numpy.load({:?}); assert a.shape == ({rows}, {columns}) and a.dtype == numpy.float32; print(float(a[0, 0]))", path)])
        .output();
    if let Ok(output) = numpy {
        if output.status.success() {
            let first: f32 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .expect("a number");
            assert_eq!(first, values[0], "NumPy reads the same first value");
        } else {
            let message = String::from_utf8_lossy(&output.stderr);
            assert!(
                message.contains("No module named 'numpy'"),
                "NumPy could not load {}: {message}",
                path.display()
            );
        }
    }
}

#[test]
fn feature_csv_run_trains_an_mlp_and_searches_a_row() {
    let root = tempfile::tempdir().expect("temporary directory");
    let csv = feature_csv(root.path());
    let csv = csv.to_str().expect("utf-8 path");
    let mut args = vec![
        "train",
        "--dataset",
        "csv",
        "--data",
        csv,
        "--classes-per-batch",
        "3",
        "--samples-per-class",
        "4",
        "--steps",
        "40",
        "--embed-dim",
        "8",
        "--name",
        "csv-run",
    ];
    args.extend_from_slice(QUICK);
    let output = succeeds(siamese(&args, root.path()));
    assert!(output.contains("6 features"), "{output}");
    let trained = summary(&root.path().join("runs/csv-run"));
    assert!(
        trained["held_out"]["precision_at_1"]
            .as_f64()
            .expect("number")
            >= 0.9,
        "separable blobs: {trained}"
    );
    succeeds(siamese(&["eval", "--run", "runs/csv-run"], root.path()));
    succeeds(siamese(
        &[
            "embed",
            "--run",
            "runs/csv-run",
            "--input",
            csv,
            "--out",
            "features.npy",
        ],
        root.path(),
    ));
    check_npy(&root.path().join("features.npy"), 60, 8);
    std::fs::write(root.path().join("query.csv"), "3.1,0.0,0.1,2.9,-0.2,0.1\n").expect("query");
    let output = succeeds(siamese(
        &[
            "search",
            "--run",
            "runs/csv-run",
            "--query",
            "query.csv",
            "--k",
            "4",
        ],
        root.path(),
    ));
    let labels: Vec<&str> = output
        .lines()
        .filter(|line| line.trim_start().starts_with(char::is_numeric))
        .map(|line| line.split_whitespace().last().unwrap_or(""))
        .collect();
    assert_eq!(labels, ["ant"; 4], "{output}");
}

#[test]
fn mnist5k_short_training_beats_raw_pixels_clearly() {
    let root = tempfile::tempdir().expect("temporary directory");
    let mut args = vec!["train", "--steps", "150", "--name", "short"];
    args.extend_from_slice(QUICK);
    let output = succeeds(siamese(&args, root.path()));
    assert!(
        output.contains("raw-value baseline"),
        "the baseline is printed first: {output}"
    );
    let result = summary(&root.path().join("runs/short"));
    let trained = result["held_out"]["precision_at_1"]
        .as_f64()
        .expect("number");
    let baseline = result["baseline"]["precision_at_1"]
        .as_f64()
        .expect("number");
    assert!(
        trained >= baseline + 0.03,
        "precision@1 {trained} vs raw pixels {baseline}"
    );
}

#[test]
fn resuming_reproduces_the_uninterrupted_run() {
    let root = tempfile::tempdir().expect("temporary directory");
    let images = image_folder(root.path(), 8);
    let images = images.to_str().expect("utf-8 path");
    let args = [
        folder_train(images, "3", "3", "8"),
        vec![
            "--checkpoint-every",
            "4",
            "--eval-every",
            "0",
            "--quiet",
            "--name",
            "whole",
        ],
    ]
    .concat();
    succeeds(siamese(&args, root.path()));
    let whole = summary(&root.path().join("runs/whole"));
    let diagnostics = std::fs::read_to_string(root.path().join("runs/whole/diagnostics.jsonl"))
        .expect("diagnostics");
    // The last checkpoint is at step 4: resuming re-runs steps 5–8 from it.
    let output = succeeds(siamese(
        &["train", "--resume", "runs/whole", "--quiet"],
        root.path(),
    ));
    assert!(
        output.contains("resuming from") && output.contains("step 4 of 8"),
        "{output}"
    );
    let resumed = summary(&root.path().join("runs/whole"));
    assert_eq!(resumed["held_out"], whole["held_out"]);
    let again = std::fs::read_to_string(root.path().join("runs/whole/diagnostics.jsonl"))
        .expect("diagnostics");
    let without_timing = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|line| {
                let mut record: Value = serde_json::from_str(line).expect("json line");
                record
                    .as_object_mut()
                    .map(|fields| fields.remove("images_per_second"));
                record
            })
            .collect()
    };
    assert_eq!(
        without_timing(&again),
        without_timing(&diagnostics),
        "bit-identical diagnostics after resume"
    );
}

#[test]
fn bad_input_fails_with_a_clear_error() {
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    fails_with(
        siamese(&["eval", "--run", "no/such/run"], dir),
        &["no/such/run", "no such run directory"],
    );
    std::fs::create_dir_all(dir.join("empty")).expect("dir");
    fails_with(
        siamese(&["eval", "--run", "empty"], dir),
        &["empty", "not a run directory"],
    );
    fails_with(
        siamese(&["train", "--steps", "abc"], dir),
        &["--steps", "abc"],
    );
    fails_with(
        siamese(
            &[
                "train",
                "--dataset",
                "fashion-mnist",
                "--data-dir",
                "no/fashion",
            ],
            dir,
        ),
        &[
            "no/fashion",
            "apt-get install dataset-fashion-mnist",
            "--data-dir",
        ],
    );
    fails_with(
        siamese(&["train", "--dataset", "csv"], dir),
        &["--data FILE"],
    );
    fails_with(
        siamese(&["train", "--margin=-1", "--steps", "1"], dir),
        &["margin -1"],
    );

    std::fs::write(dir.join("ragged.csv"), "1,2,a\n3,4,b\n5,c\n").expect("csv");
    fails_with(
        siamese(&["train", "--dataset", "csv", "--data", "ragged.csv"], dir),
        &["ragged.csv", "line 3", "2 columns, expected 3"],
    );
    std::fs::write(dir.join("words.csv"), "1,2,a\n3,x,b\n").expect("csv");
    fails_with(
        siamese(&["train", "--dataset", "csv", "--data", "words.csv"], dir),
        &["words.csv", "line 2", "\"x\" is not a number"],
    );

    let images = image_folder(dir, 4);
    std::fs::write(images.join("vertical/broken.png"), b"not a png").expect("file");
    fails_with(
        siamese(
            &[
                "train",
                "--dataset",
                "folder",
                "--data-dir",
                images.to_str().expect("utf-8"),
            ],
            dir,
        ),
        &["broken.png", "cannot decode"],
    );

    std::fs::write(
        dir.join("config.json"),
        "{\"steps\": 3, \"colour\": \"red\"}",
    )
    .expect("config");
    fails_with(
        siamese(&["train", "--config", "config.json"], dir),
        &["config.json", "unknown field `colour`"],
    );

    // A finished run with its weights cut short.
    let images = image_folder(&dir.join("good"), 6);
    let mut args = vec![
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        images.to_str().expect("utf-8"),
        "--image-size",
        "12x12",
        "--classes-per-batch",
        "2",
        "--samples-per-class",
        "2",
        "--steps",
        "2",
        "--name",
        "cut",
    ];
    args.extend_from_slice(QUICK);
    succeeds(siamese(&args, dir));
    fails_with(
        siamese(&args, dir),
        &["runs/cut", "already exists", "--resume"],
    );
    let weights = dir.join("runs/cut/model/model.bpk");
    let bytes = std::fs::read(&weights).expect("weights");
    std::fs::write(&weights, &bytes[..bytes.len() / 3]).expect("truncate");
    fails_with(siamese(&["eval", "--run", "runs/cut"], dir), &["model.bpk"]);
}

/// A build without the feature says how to get the backend.
#[cfg(not(feature = "wgpu"))]
#[test]
fn backend_missing_from_the_build_says_which_feature_to_enable() {
    let root = tempfile::tempdir().expect("temporary directory");
    let mut args = vec!["train", "--backend", "wgpu", "--steps", "2"];
    args.extend_from_slice(QUICK);
    fails_with(
        siamese(&args, root.path()),
        &["without the wgpu backend", "--features wgpu"],
    );
}
