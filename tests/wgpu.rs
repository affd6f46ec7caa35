//! The command line on the wgpu backend: a short training run that tracks flex's, and the
//! error a machine without an adapter gets.
#![cfg(feature = "wgpu")]

mod common;

use common::{QUICK, fails_with, folder_train, image_folder, siamese, succeeds, summary};
use serde_json::Value;

/// The same short run on flex and on wgpu: the wgpu run learns as the flex run does. (Each
/// backend draws its own initial weights from the seed, so the runs are alike, not equal;
/// `tests/parity.rs` holds wgpu to flex's losses from one shared initial record.) Generated
/// 12×12 images keep it quick on the software Vulkan of CI.
#[test]
fn wgpu_short_training_run_learns_like_flex() {
    if common::wgpu::test_device().is_none() {
        return;
    }
    let root = tempfile::tempdir().expect("temporary directory");
    let images = image_folder(root.path(), 16);
    let images = images.to_str().expect("utf-8 path");
    let mut outputs = Vec::new();
    for backend in ["flex", "wgpu"] {
        let mut args = folder_train(images, "3", "4", "20");
        args.extend_from_slice(&["--backend", backend, "--name", backend]);
        args.extend_from_slice(QUICK);
        outputs.push(succeeds(siamese(&args, root.path())));
    }
    let wgpu_text = &outputs[1];
    assert!(
        wgpu_text.contains("on wgpu: ") && wgpu_text.contains("img/s after the first step"),
        "{wgpu_text}"
    );
    let losses = |backend: &str| -> Vec<f64> {
        let path = root
            .path()
            .join("runs")
            .join(backend)
            .join("diagnostics.jsonl");
        std::fs::read_to_string(path)
            .expect("diagnostics")
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|record| record.get("loss").and_then(Value::as_f64))
            .collect()
    };
    let halves = |losses: &[f64]| {
        let mean = |part: &[f64]| part.iter().sum::<f64>() / part.len() as f64;
        let (first, second) = losses.split_at(losses.len() / 2);
        (mean(first), mean(second))
    };
    for backend in ["flex", "wgpu"] {
        let losses = losses(backend);
        assert_eq!(losses.len(), 20, "{backend}: {losses:?}");
        assert!(losses.iter().all(|loss| loss.is_finite()), "{losses:?}");
        let (first, second) = halves(&losses);
        assert!(
            second < first,
            "{backend}: the loss should fall, from {first} to {second}: {losses:?}"
        );
    }
    let precision = |backend: &str| {
        summary(&root.path().join("runs").join(backend))["held_out"]["precision_at_1"]
            .as_f64()
            .expect("number")
    };
    let (flex, wgpu) = (precision("flex"), precision("wgpu"));
    assert!(
        wgpu >= 0.6 && wgpu >= flex - 0.25,
        "held-out precision@1: wgpu {wgpu}, flex {flex}"
    );
}

/// No adapter (here: asking cubecl for a 100th discrete GPU) gives an error saying how to
/// get one, not a panic. Needs no adapter itself, so it runs even with SIAMESE_SKIP_WGPU=1.
#[test]
fn wgpu_without_an_adapter_fails_with_how_to_get_one() {
    let root = tempfile::tempdir().expect("temporary directory");
    let mut args = vec!["train", "--backend", "wgpu", "--steps", "2"];
    args.extend_from_slice(QUICK);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_siamese"))
        .args(&args)
        .current_dir(root.path())
        .env("CUBECL_WGPU_DEFAULT_DEVICE", "DiscreteGpu(99)")
        .output()
        .expect("the siamese binary runs");
    fails_with(
        output,
        &[
            "wgpu backend found no usable adapter",
            "apt-get install mesa-vulkan-drivers libvulkan1",
        ],
    );
    assert!(
        !root.path().join("runs").exists(),
        "no run directory is left behind"
    );
}
