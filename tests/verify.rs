//! `siamese verify`, `siamese compare` and `siamese report` on a small trained image run:
//! the metrics agree with a brute-force computation from the embeddings, the threshold is
//! stored and used, misuse gives clear errors, and the report's charts and page exist.

mod common;

use common::*;

/// The number after `label` on the line that starts with it.
fn number_after(output: &str, label: &str) -> f64 {
    output
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{output}"))
}

#[test]
fn verify_matches_brute_force_and_compare_uses_its_threshold() {
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    let images = image_folder(dir, 10);
    let images = images.to_str().expect("utf-8");
    let mut args = [folder_train(images, "3", "4", "12"), vec!["--name", "run"]].concat();
    args.extend_from_slice(QUICK);
    succeeds(siamese(&args, dir));

    fails_with(
        siamese(&["compare", "--run", "runs/run", "eval:0", "eval:1"], dir),
        &["verification.json", "siamese verify --run runs/run"],
    );

    // Every pair of the 6 evaluation examples, scored by hand from the embeddings.
    succeeds(siamese(
        &[
            "embed", "--run", "runs/run", "--input", "eval", "--out", "eval.npy",
        ],
        dir,
    ));
    let rows = npy_rows(&dir.join("eval.npy"));
    let classes = npy_labels(&dir.join("eval.labels.npy"));
    assert_eq!(rows.len(), 6);
    let mut lines = vec!["# left right flag".to_string()];
    let (mut same, mut different) = (Vec::new(), Vec::new());
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            let distance: f64 = rows[i]
                .iter()
                .zip(&rows[j])
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            let is_same = classes[i] == classes[j];
            lines.push(format!(
                "{i},{j},{}",
                if is_same { "same" } else { "different" }
            ));
            if is_same {
                same.push(distance);
            } else {
                different.push(distance);
            }
        }
    }
    std::fs::write(dir.join("pairs.txt"), lines.join("\n")).expect("pairs");
    let mut wins = 0.0;
    for s in &same {
        for d in &different {
            wins += if s < d {
                1.0
            } else if s == d {
                0.5
            } else {
                0.0
            };
        }
    }
    let auc = wins / (same.len() * different.len()) as f64;
    let output = succeeds(siamese(
        &["verify", "--run", "runs/run", "--pair-file", "pairs.txt"],
        dir,
    ));
    assert!(
        output.contains(&format!(
            "{} same and {} different pairs scored by euclidean distance",
            same.len(),
            different.len()
        )),
        "{output}"
    );
    assert!(
        (number_after(&output, "ROC AUC ") - auc).abs() < 1e-4,
        "AUC {auc} by hand:\n{output}"
    );
    assert!(output.contains("not meaningful"), "{output}");

    // Seeded balanced pairs; the stored threshold is the reported EER threshold.
    let output = succeeds(siamese(
        &["verify", "--run", "runs/run", "--pairs", "400"],
        dir,
    ));
    assert!(
        output.contains("200 same and 200 different pairs"),
        "{output}"
    );
    let calibration: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("runs/run/verification.json")).expect("calibration"),
    )
    .expect("json");
    let threshold = calibration["threshold"].as_f64().expect("threshold");
    let printed = output
        .lines()
        .find_map(|line| line.split("at threshold ").nth(1))
        .and_then(|rest| rest.trim().parse::<f64>().ok())
        .expect("EER threshold");
    assert!((printed - threshold).abs() < 1e-4, "{output}");

    // compare: an index pair, and an image file against an index; the verdict follows
    // the distance and the stored threshold.
    let query = format!("{images}/vertical/03.png");
    for (first, second) in [("eval:0", "eval:1"), (query.as_str(), "train:2")] {
        let output = succeeds(siamese(
            &["compare", "--run", "runs/run", first, second],
            dir,
        ));
        let distance = number_after(&output, "euclidean distance: ");
        let verdict = if distance <= threshold {
            "same: threshold"
        } else {
            "different: threshold"
        };
        assert!(output.contains(verdict), "{output}");
    }
    let output = succeeds(siamese(
        &["compare", "--run", "runs/run", "eval:0", "eval:0"],
        dir,
    ));
    assert!(output.contains("euclidean distance: 0.0000"), "{output}");
    assert!(output.contains("(class "), "{output}");

    std::fs::write(dir.join("bad.txt"), "0 1 same\n0 2 maybe\n").expect("pairs");
    fails_with(
        siamese(
            &["verify", "--run", "runs/run", "--pair-file", "bad.txt"],
            dir,
        ),
        &["bad.txt", "line 2", "\"maybe\""],
    );
    std::fs::write(dir.join("far.txt"), "0 99 same\n").expect("pairs");
    fails_with(
        siamese(
            &["verify", "--run", "runs/run", "--pair-file", "far.txt"],
            dir,
        ),
        &["far.txt", "index 99", "6 examples"],
    );
    fails_with(
        siamese(&["compare", "--run", "runs/run", "eval:0", "eval:x"], dir),
        &["eval:x", "whole number"],
    );
}

#[test]
fn report_writes_six_charts_and_a_self_contained_page() {
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    let images = image_folder(dir, 10);
    let images = images.to_str().expect("utf-8");
    let args = [
        folder_train(images, "3", "4", "30"),
        vec![
            "--eval-every",
            "10",
            "--checkpoint-every",
            "0",
            "--quiet",
            "--report",
            "--name",
            "run",
        ],
    ]
    .concat();
    let output = succeeds(siamese(&args, dir));
    assert!(output.contains("report: runs/run/report.html"), "{output}");
    let run = dir.join("runs/run");
    let charts = [
        "loss.png",
        "triplet-classes.png",
        "metrics.png",
        "distances.png",
        "roc.png",
        "embedding-map.png",
    ];
    for chart in charts {
        let decoded = image::open(run.join(chart)).expect("a PNG");
        assert_eq!((decoded.width(), decoded.height()), (900, 560), "{chart}");
        // Drawn on, not blank: more than a few distinct colours.
        let rgb = decoded.to_rgb8();
        let mut colours: Vec<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 20, "{chart} has {} colours", colours.len());
    }
    let page = std::fs::read_to_string(run.join("report.html")).expect("report");
    assert_eq!(page.matches("src=\"data:image/png;base64,").count(), 6);
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no network"
    );
    assert!(page.contains("precision@1") && page.contains("ROC AUC"));
    // `siamese report` rewrites it from the run directory alone.
    std::fs::remove_file(run.join("report.html")).expect("remove");
    succeeds(siamese(&["report", "--run", "runs/run"], dir));
    assert!(run.join("report.html").is_file());
}
