//! A training run survives bad numbers and being killed, and gives the same answer twice:
//! non-finite steps are skipped and counted (and a run of them stops the run with its last
//! checkpoint intact), SIGKILL at random moments loses at most one checkpoint interval and
//! the resumed run ends exactly where an uninterrupted one does, and the same seed gives
//! bit-identical diagnostics on each CPU backend.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use common::*;
use serde_json::Value;

/// Step records of a run's diagnostics, without the timing field.
fn steps(run: &Path) -> Vec<Value> {
    records(run)
        .into_iter()
        .filter(|record| record["kind"] == "step")
        .collect()
}

/// Every record of a run's diagnostics, without the timing field.
fn records(run: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(run.join("diagnostics.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|mut record| {
            if let Some(fields) = record.as_object_mut() {
                fields.remove("images_per_second");
            }
            record
        })
        .collect()
}

/// Steps of the checkpoints present, newest first.
fn checkpoint_steps(run: &Path) -> Vec<usize> {
    let mut steps: Vec<usize> = std::fs::read_dir(run.join("checkpoints"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    entry
                        .file_name()
                        .to_str()?
                        .strip_prefix("step-")?
                        .parse()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default();
    steps.sort_unstable_by(|a, b| b.cmp(a));
    steps
}

/// Six classes of 4 features; the rows of class `huge` (if any) hold 3e38, which overflows
/// the MLP's first layer to ±∞ and makes any batch containing them non-finite.
fn csv_with_huge_class(path: &Path, huge: Option<usize>) {
    let mut rows = vec!["a,b,c,d,label".to_string()];
    for class in 0..6 {
        for row in 0..10 {
            let values: Vec<String> = (0..4)
                .map(|j| {
                    if Some(class) == huge {
                        "3e38".to_string()
                    } else {
                        let centre = if j == class % 4 { 2.0 } else { 0.0 };
                        format!("{:.3}", centre + (row as f64 * 0.37 + j as f64).sin() * 0.3)
                    }
                })
                .collect();
            rows.push(format!("{},c{class}", values.join(",")));
        }
    }
    std::fs::write(path, rows.join("\n")).expect("csv");
}

fn csv_run(name: &str, steps: &str, config: &str) -> Vec<String> {
    [
        "train",
        "--dataset",
        "csv",
        "--data",
        "data.csv",
        "--classes-per-batch",
        "2",
        "--samples-per-class",
        "3",
        "--steps",
        steps,
        "--checkpoint-every",
        "5",
        "--eval-every",
        "0",
        "--config",
        config,
        "--name",
        name,
        "--quiet",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect()
}

fn run_args(dir: &Path, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    siamese(&args, dir)
}

#[test]
fn nonfinite_batches_are_skipped_counted_and_never_checkpointed() {
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    csv_with_huge_class(&dir.join("data.csv"), Some(5));
    std::fs::write(dir.join("config.json"), r#"{"max_nonfinite_steps": 1000}"#).expect("config");
    let output = run_args(dir, &csv_run("mixed", "40", "config.json"));
    let all = text(&output);
    assert!(output.status.success(), "{all}");
    let run = dir.join("runs/mixed");
    let steps = steps(&run);
    assert_eq!(steps.len(), 40, "one record per step");
    let skipped: Vec<&Value> = steps
        .iter()
        .filter(|record| record["skipped"] == true)
        .collect();
    // P = 2 of 6 classes: about a third of the batches hold the overflowing class.
    assert!(
        (3..=30).contains(&skipped.len()),
        "{} skipped steps",
        skipped.len()
    );
    for record in &skipped {
        assert!(
            record["loss"].is_null(),
            "non-finite loss is recorded as null"
        );
        assert!(
            all.contains(&format!("warning: step {} skipped", record["step"])),
            "a warning names step {}:\n{all}",
            record["step"]
        );
    }
    let finite = steps.iter().filter(|record| record["skipped"] == false);
    for record in finite {
        assert!(record["loss"].as_f64().is_some_and(f64::is_finite));
    }
    let summary = summary(&run);
    assert_eq!(summary["skipped_steps"], skipped.len());

    // The weights stayed finite: the final model embeds the finite rows to finite values.
    std::fs::write(
        dir.join("finite.csv"),
        "a,b,c,d,label\n2,0,0,0,c0\n0,2,0,0,c1\n0,0,2,0,c2\n",
    )
    .expect("csv");
    succeeds(siamese(
        &[
            "embed",
            "--run",
            "runs/mixed",
            "--input",
            "finite.csv",
            "--out",
            "e.npy",
        ],
        dir,
    ));
    let rows = npy_rows(&dir.join("e.npy"));
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().flatten().all(|v| v.is_finite()));
}

#[test]
fn a_run_of_nonfinite_steps_stops_with_the_last_checkpoint_intact() {
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    csv_with_huge_class(&dir.join("data.csv"), None);
    std::fs::write(dir.join("config.json"), r#"{"max_nonfinite_steps": 3}"#).expect("config");
    succeeds(run_args(dir, &csv_run("run", "20", "config.json")));
    let run = dir.join("runs/run");
    assert_eq!(checkpoint_steps(&run), vec![15, 10]);
    let checkpoint = run.join("checkpoints/step-00000015");
    let before: Vec<Vec<u8>> = ["model.bpk", "optimizer.bpk", "state.json"]
        .iter()
        .map(|file| std::fs::read(checkpoint.join(file)).expect("checkpoint file"))
        .collect();

    // The data turns bad under the run: every step from the checkpoint on is non-finite.
    csv_with_huge_class(&dir.join("data.csv"), Some(0));
    for class in 1..6 {
        let text = std::fs::read_to_string(dir.join("data.csv")).expect("csv");
        let bad: String = text
            .lines()
            .map(|line| {
                if line.ends_with(&format!(",c{class}")) {
                    format!("3e38,3e38,3e38,3e38,c{class}\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(dir.join("data.csv"), bad).expect("csv");
    }
    let output = siamese(&["train", "--resume", "runs/run", "--quiet"], dir);
    let all = text(&output);
    assert!(!output.status.success(), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert!(
        all.contains("training stopped: 3 non-finite steps in a row (last at step 18)")
            && all.contains("the last good checkpoint")
            && all.contains("is intact"),
        "{all}"
    );
    assert_eq!(checkpoint_steps(&run), vec![15, 10]);
    let after: Vec<Vec<u8>> = ["model.bpk", "optimizer.bpk", "state.json"]
        .iter()
        .map(|file| std::fs::read(checkpoint.join(file)).expect("checkpoint file"))
        .collect();
    assert!(before == after, "the last good checkpoint is unchanged");
}

/// A small seeded generator for the kill delays.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn killed_at_random_moments_the_resumed_run_ends_like_an_uninterrupted_one() {
    // A checkpoint every step: most moments of the run are close to (or inside) a write.
    const EVERY: usize = 1;
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    let images = image_folder(dir, 8);
    let images = images.to_str().expect("utf-8");
    let args = |name: &str| -> Vec<String> {
        [
            folder_train(images, "3", "3", "150"),
            vec![
                "--checkpoint-every",
                &EVERY.to_string(),
                "--eval-every",
                "50",
                "--quiet",
                "--name",
                name,
            ],
        ]
        .concat()
        .iter()
        .map(|arg| arg.to_string())
        .collect()
    };
    let started = Instant::now();
    succeeds(run_args(dir, &args("whole")));
    let whole_time = started.elapsed();
    let whole = dir.join("runs/whole");

    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|time| time.as_nanos() as u64)
        .unwrap_or(1);
    println!("kill delays seeded with {seed}");
    let mut state = seed;
    let killed = dir.join("runs/killed");
    let mut kills = 0;
    for attempt in 0..6 {
        let resuming = killed.join("config.json").exists();
        let mut command = Command::new(env!("CARGO_BIN_EXE_siamese"));
        if resuming {
            command.args(["train", "--resume", "runs/killed", "--quiet"]);
        } else {
            command.args(args("killed"));
        }
        let mut child = command
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("siamese starts");
        // Somewhere in the run: from start-up to most of an uninterrupted run's length.
        let fraction = (next(&mut state) % 1000) as f64 / 1000.0;
        let delay = whole_time.mul_f64(0.1 + 0.6 * fraction);
        std::thread::sleep(delay);
        let finished = child.try_wait().expect("wait").is_some();
        if finished {
            println!("attempt {attempt}: finished before the kill at {delay:?}");
            break;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        kills += 1;
        let reached = steps(&killed)
            .last()
            .and_then(|record| record["step"].as_u64())
            .unwrap_or(0) as usize;
        let restart = checkpoint_steps(&killed).first().copied().unwrap_or(0);
        let mid_write = std::fs::read_dir(killed.join("checkpoints"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .unwrap_or(false);
        println!(
            "attempt {attempt}: killed after {delay:?} at step {reached}; newest checkpoint {restart}{}",
            if mid_write {
                "; a checkpoint was being written"
            } else {
                ""
            }
        );
        assert!(
            reached <= restart + EVERY,
            "killed at step {reached} but the newest checkpoint is step {restart}: more than one interval ({EVERY}) lost"
        );
    }
    println!("{kills} kills");
    // Finish the run.
    let output = if killed.join("config.json").exists() {
        siamese(&["train", "--resume", "runs/killed", "--quiet"], dir)
    } else {
        run_args(dir, &args("killed"))
    };
    succeeds(output);
    assert_eq!(summary(&killed)["held_out"], summary(&whole)["held_out"]);
    assert_eq!(records(&killed), records(&whole), "identical diagnostics");
}

fn reproducible_on(backend: &str) {
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    let images = image_folder(dir, 6);
    let images = images.to_str().expect("utf-8");
    for name in ["first", "second"] {
        succeeds(siamese(
            &[
                folder_train(images, "3", "3", "12"),
                vec![
                    "--eval-every",
                    "6",
                    "--checkpoint-every",
                    "0",
                    "--backend",
                    backend,
                    "--quiet",
                    "--name",
                    name,
                ],
            ]
            .concat(),
            dir,
        ));
    }
    let (first, second) = (dir.join("runs/first"), dir.join("runs/second"));
    assert_eq!(records(&first).len(), 14, "12 steps and 2 evaluations");
    assert_eq!(records(&first), records(&second));
    assert_eq!(summary(&first)["held_out"], summary(&second)["held_out"]);
    // The weight files differ only in Burn's random parameter ids; the weights themselves
    // are bit-identical, so the embeddings are.
    let embeddings = |name: &str| {
        let out = format!("{name}.npy");
        succeeds(siamese(
            &[
                "embed",
                "--run",
                &format!("runs/{name}"),
                "--input",
                "eval",
                "--out",
                &out,
            ],
            dir,
        ));
        std::fs::read(dir.join(out)).expect("embeddings")
    };
    assert!(
        embeddings("first") == embeddings("second"),
        "bit-identical embeddings"
    );
}

#[test]
fn flex_same_seed_gives_bit_identical_runs() {
    reproducible_on("flex");
}

#[test]
fn ndarray_same_seed_gives_bit_identical_runs() {
    reproducible_on("ndarray");
}

#[test]
fn an_unwritable_runs_directory_fails_before_training() {
    let root = tempfile::tempdir().expect("temporary directory");
    let dir = root.path();
    std::fs::write(
        dir.join("runs"),
        "a file where the runs directory should be",
    )
    .expect("file");
    let output = siamese(&["train", "--steps", "1", "--quiet"], dir);
    let all = text(&output);
    assert!(!output.status.success(), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert!(
        all.contains("runs/") && all.contains("cannot create the run directory"),
        "{all}"
    );
    assert!(
        !all.contains("raw-value baseline"),
        "fails before loading data:\n{all}"
    );
}
