//! The bad-input corpus: generated corrupt inputs for every reader and every file the
//! `siamese` command takes — idx/gzip, feature CSV, image folders, configurations, run
//! directories, checkpoints, `.npy` galleries and flag values. Each must give a non-zero
//! exit, an error naming the file (or flag) and what was wrong, no panic, and leave every
//! file as it was (no run directory created, nothing overwritten).
//!
//! The MNIST-5k CSV has no user path (it is embedded in the binary), so it is not here;
//! its reader runs in every MNIST-5k training test.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;

/// One corrupt input: how to make it, the command that must reject it, and what the error
/// must say.
struct Case {
    name: &'static str,
    /// Creates the bad input inside the case's directory.
    setup: Box<dyn Fn(&Path)>,
    args: Vec<&'static str>,
    needles: Vec<&'static str>,
}

fn case(
    name: &'static str,
    setup: impl Fn(&Path) + 'static,
    args: &[&'static str],
    needles: &[&'static str],
) -> Case {
    Case {
        name,
        setup: Box::new(setup),
        args: args.to_vec(),
        needles: needles.to_vec(),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// An idx3 image file of `count` images of `rows`×`columns` (header as given, payload
/// `payload` bytes).
fn idx_images(magic: u32, count: u32, rows: u32, columns: u32, payload: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [magic, count, rows, columns] {
        bytes.extend(word.to_be_bytes());
    }
    bytes.extend((0..payload).map(|i| (i * 37 % 256) as u8));
    bytes
}

fn idx_labels(magic: u32, labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [magic, labels.len() as u32] {
        bytes.extend(word.to_be_bytes());
    }
    bytes.extend(labels);
    bytes
}

/// A valid Fashion-MNIST-layout directory `fm/`: 30 training and 10 test images of 28×28.
fn fashion_dir(dir: &Path) -> PathBuf {
    let root = dir.join("fm");
    std::fs::create_dir_all(&root).expect("fm");
    for (prefix, count) in [("train", 30u32), ("t10k", 10)] {
        let images = idx_images(0x803, count, 28, 28, count as usize * 784);
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        std::fs::write(
            root.join(format!("{prefix}-images-idx3-ubyte.gz")),
            gzip(&images),
        )
        .expect("images");
        std::fs::write(
            root.join(format!("{prefix}-labels-idx1-ubyte.gz")),
            gzip(&idx_labels(0x801, &labels)),
        )
        .expect("labels");
    }
    root
}

fn write(path: PathBuf, bytes: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("parent");
    }
    std::fs::write(path, bytes).expect("write");
}

fn truncate(path: PathBuf) {
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(path, &bytes[..bytes.len() / 2]).expect("truncate");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy target");
    for entry in std::fs::read_dir(from).expect("copy source") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files.insert(path.clone(), Vec::new());
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                files.insert(path, bytes);
            }
        }
    }
    files
}

/// Newest checkpoint directory of a run.
fn checkpoints(run: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(run.join("checkpoints"))
        .expect("checkpoints")
        .map(|entry| entry.expect("entry").path())
        .collect();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// Arguments of the small training runs the run-directory cases start from.
fn tiny_run(images: &str, name: &'static str, embed_dim: &'static str) -> Vec<String> {
    [
        folder_train(images, "2", "2", "6"),
        vec![
            "--checkpoint-every",
            "2",
            "--eval-every",
            "0",
            "--embed-dim",
            embed_dim,
            "--name",
            name,
            "--runs-dir",
            "fixtures",
            "--quiet",
        ],
    ]
    .concat()
    .iter()
    .map(|arg| arg.to_string())
    .collect()
}

fn corpus(fixtures: &Path) -> Vec<Case> {
    let fixtures = fixtures.to_path_buf();
    let with_run = move |name: &'static str| {
        let fixtures = fixtures.clone();
        move |dir: &Path| copy_dir(&fixtures.join(name), &dir.join("run"))
    };
    let train_fm = &[
        "train",
        "--dataset",
        "fashion-mnist",
        "--data-dir",
        "fm",
        "--steps",
        "1",
        "--quiet",
    ];
    let train_csv = &[
        "train",
        "--dataset",
        "csv",
        "--data",
        "bad.csv",
        "--steps",
        "1",
        "--quiet",
    ];
    let train_folder = &[
        "train",
        "--dataset",
        "folder",
        "--data-dir",
        "images",
        "--image-size",
        "12x12",
        "--steps",
        "1",
        "--quiet",
    ];
    let train_config = &["train", "--config", "bad.json", "--quiet"];
    let good_csv = "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n";
    let run = with_run.clone();
    vec![
        // idx / gzip
        case(
            "idx: truncated gzip",
            |dir| truncate(fashion_dir(dir).join("train-images-idx3-ubyte.gz")),
            train_fm,
            &["train-images-idx3-ubyte.gz", "corrupt or truncated gzip"],
        ),
        case(
            "idx: wrong magic",
            |dir| {
                let path = fashion_dir(dir).join("t10k-images-idx3-ubyte.gz");
                write(path, gzip(&idx_images(0x801, 10, 28, 28, 7840)));
            },
            train_fm,
            &["t10k-images-idx3-ubyte.gz", "magic number 0x00000801"],
        ),
        case(
            "idx: header count disagrees with the payload",
            |dir| {
                let path = fashion_dir(dir).join("train-images-idx3-ubyte.gz");
                write(path, gzip(&idx_images(0x803, 31, 28, 28, 30 * 784)));
            },
            train_fm,
            &["train-images-idx3-ubyte.gz", "header says 31 images"],
        ),
        case(
            "idx: label file does not match the image file",
            |dir| {
                let path = fashion_dir(dir).join("train-labels-idx1-ubyte.gz");
                write(path, gzip(&idx_labels(0x801, &[1; 29])));
            },
            train_fm,
            &["train-labels-idx1-ubyte.gz", "29 labels for the 30 images"],
        ),
        case(
            "idx: zero items",
            |dir| {
                let path = fashion_dir(dir).join("t10k-images-idx3-ubyte.gz");
                write(path, gzip(&idx_images(0x803, 0, 28, 28, 0)));
            },
            train_fm,
            &["t10k-images-idx3-ubyte.gz", "0 images"],
        ),
        case(
            "idx: label out of range",
            |dir| {
                let path = fashion_dir(dir).join("t10k-labels-idx1-ubyte.gz");
                write(
                    path,
                    gzip(&idx_labels(0x801, &[3, 12, 1, 1, 1, 1, 1, 1, 1, 1])),
                );
            },
            train_fm,
            &["t10k-labels-idx1-ubyte.gz", "label 12", "expected 0–9"],
        ),
        case(
            "idx: header shorter than 16 bytes",
            |dir| {
                let path = fashion_dir(dir).join("train-images-idx3-ubyte.gz");
                write(path, gzip(&[0, 0, 8, 3, 0, 0]));
            },
            train_fm,
            &["train-images-idx3-ubyte.gz", "too short"],
        ),
        case(
            "idx: missing file",
            |dir| {
                let root = fashion_dir(dir);
                std::fs::remove_file(root.join("t10k-labels-idx1-ubyte.gz")).expect("remove");
            },
            train_fm,
            &["t10k-labels-idx1-ubyte.gz"],
        ),
        // feature CSV
        case(
            "csv: ragged row",
            |dir| write(dir.join("bad.csv"), "1,2,x\n3,4,y\n5,y\n"),
            train_csv,
            &["bad.csv", "line 3", "2 columns, expected 3"],
        ),
        case(
            "csv: non-numeric value",
            |dir| write(dir.join("bad.csv"), "1,2,x\n3,four,y\n"),
            train_csv,
            &["bad.csv", "line 2", "\"four\" is not a number"],
        ),
        case(
            "csv: NaN value",
            |dir| write(dir.join("bad.csv"), "1,2,x\n3,NaN,y\n"),
            train_csv,
            &["bad.csv", "line 2", "NaN is not a finite number"],
        ),
        case(
            "csv: infinite value",
            |dir| write(dir.join("bad.csv"), "1,inf,x\n3,4,y\n"),
            train_csv,
            &["bad.csv", "line 1", "inf is not a finite number"],
        ),
        case(
            "csv: empty file",
            |dir| write(dir.join("bad.csv"), ""),
            train_csv,
            &["bad.csv", "empty file"],
        ),
        case(
            "csv: a header and no rows",
            |dir| write(dir.join("bad.csv"), "a,b,label\n"),
            train_csv,
            &["bad.csv", "no data rows"],
        ),
        case(
            "csv: a single class",
            |dir| write(dir.join("bad.csv"), "1,2,x\n3,4,x\n5,6,x\n"),
            train_csv,
            &["bad.csv", "a single class", "at least 2"],
        ),
        case(
            "csv: unknown label column",
            move |dir| write(dir.join("bad.csv"), good_csv),
            &[
                "train",
                "--dataset",
                "csv",
                "--data",
                "bad.csv",
                "--label-column",
                "species",
                "--quiet",
            ],
            &["bad.csv", "no column named \"species\""],
        ),
        case(
            "csv: missing file",
            |_| {},
            train_csv,
            &["bad.csv", "cannot read"],
        ),
        // image folders
        case(
            "images: undecodable file",
            |dir| {
                let images = image_folder(dir, 4);
                write(images.join("diagonal/03.png"), b"\x89PNG\r\n\x1a\n garbage");
            },
            train_folder,
            &["03.png", "cannot decode"],
        ),
        case(
            "images: empty file",
            |dir| {
                let images = image_folder(dir, 4);
                write(images.join("vertical/empty.jpg"), b"");
            },
            train_folder,
            &["empty.jpg", "cannot decode"],
        ),
        case(
            "images: empty class folder",
            |dir| {
                let images = image_folder(dir, 4);
                std::fs::create_dir_all(images.join("zigzag")).expect("dir");
            },
            train_folder,
            &["zigzag", "no .png/.jpg/.jpeg image"],
        ),
        case(
            "images: a single class",
            |dir| {
                let images = image_folder(dir, 4);
                for class in ["vertical", "diagonal"] {
                    std::fs::remove_dir_all(images.join(class)).expect("remove");
                }
            },
            train_folder,
            &["images", "1 class sub-folder(s)", "at least 2"],
        ),
        case(
            "images: missing folder",
            |_| {},
            train_folder,
            &["images", "cannot read the image folder"],
        ),
        // configurations
        case(
            "config: unknown field",
            |dir| {
                write(
                    dir.join("bad.json"),
                    r#"{"steps": 2, "learning_rate": 0.1}"#,
                )
            },
            train_config,
            &["bad.json", "unknown field `learning_rate`"],
        ),
        case(
            "config: wrong type",
            |dir| write(dir.join("bad.json"), r#"{"steps": "ten"}"#),
            train_config,
            &["bad.json", "invalid type", "expected usize"],
        ),
        case(
            "config: unknown miner",
            |dir| write(dir.join("bad.json"), r#"{"miner": "hardest"}"#),
            train_config,
            &["bad.json", "unknown variant `hardest`"],
        ),
        case(
            "config: not JSON",
            |dir| write(dir.join("bad.json"), "steps = 3\n"),
            train_config,
            &["bad.json", "expected value"],
        ),
        case(
            "config: one class per batch",
            |dir| write(dir.join("bad.json"), r#"{"classes_per_batch": 1}"#),
            train_config,
            &["classes_per_batch 1", "at least 2"],
        ),
        case(
            "config: zero learning rate",
            |dir| write(dir.join("bad.json"), r#"{"lr": 0.0}"#),
            train_config,
            &["lr 0", "> 0"],
        ),
        case(
            "config: zero embedding size",
            |dir| write(dir.join("bad.json"), r#"{"embed_dim": 0}"#),
            train_config,
            &["embed_dim", "at least 1"],
        ),
        case(
            "config: missing file",
            |_| {},
            train_config,
            &["bad.json", "cannot read"],
        ),
        // flags
        case(
            "flag: non-numeric learning rate",
            |_| {},
            &["train", "--lr", "fast"],
            &["--lr", "fast"],
        ),
        case(
            "flag: image size with a zero side",
            |dir| {
                image_folder(dir, 4);
            },
            &[
                "train",
                "--dataset",
                "folder",
                "--data-dir",
                "images",
                "--image-size",
                "0x12",
            ],
            &["--image-size", "0x12"],
        ),
        case(
            "flag: unknown backend",
            |_| {},
            &["train", "--backend", "cuda"],
            &["--backend", "cuda"],
        ),
        // run directories
        case(
            "run: missing directory",
            |_| {},
            &["eval", "--run", "run"],
            &["run", "no such run directory"],
        ),
        case(
            "run: config.json missing",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    std::fs::remove_file(dir.join("run/config.json")).expect("remove");
                }
            },
            &["eval", "--run", "run"],
            &["run", "not a run directory", "config.json is missing"],
        ),
        case(
            "run: config.json truncated",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    truncate(dir.join("run/config.json"));
                }
            },
            &["eval", "--run", "run"],
            &["config.json"],
        ),
        case(
            "run: final weights truncated",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    truncate(dir.join("run/model/model.bpk"));
                }
            },
            &["eval", "--run", "run"],
            &["model.bpk"],
        ),
        case(
            "run: final weights missing",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    std::fs::remove_file(dir.join("run/model/model.bpk")).expect("remove");
                }
            },
            &["eval", "--run", "run"],
            &["model.bpk"],
        ),
        case(
            "run: final weights of another network",
            {
                let run = run.clone();
                let other = with_run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    other("other")(&dir.join("from-other"));
                    std::fs::copy(
                        dir.join("from-other/run/model/model.bpk"),
                        dir.join("run/model/model.bpk"),
                    )
                    .expect("copy");
                }
            },
            &["eval", "--run", "run"],
            &["model.bpk"],
        ),
        // checkpoints
        case(
            "checkpoint: every checkpoint truncated",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    for checkpoint in checkpoints(&dir.join("run")) {
                        truncate(checkpoint.join("model.bpk"));
                    }
                }
            },
            &["train", "--resume", "run", "--quiet"],
            &["checkpoints", "none of the 2 checkpoint(s) verifies"],
        ),
        case(
            "checkpoint: every optimiser state missing",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    for checkpoint in checkpoints(&dir.join("run")) {
                        std::fs::remove_file(checkpoint.join("optimizer.bpk")).expect("remove");
                    }
                }
            },
            &["train", "--resume", "run", "--quiet"],
            &["checkpoints", "none of the 2 checkpoint(s) verifies"],
        ),
        case(
            "checkpoint: from another model configuration",
            {
                let run = run.clone();
                let other = with_run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    other("other")(&dir.join("from-other"));
                    std::fs::remove_dir_all(dir.join("run/checkpoints")).expect("remove");
                    copy_dir(
                        &dir.join("from-other/run/checkpoints"),
                        &dir.join("run/checkpoints"),
                    );
                }
            },
            &["train", "--resume", "run", "--quiet"],
            &[
                "model-config.json",
                "another network",
                "\"embedding_dim\":8",
            ],
        ),
        case(
            "checkpoint: from a newer format version",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    let newest = checkpoints(&dir.join("run"))[0].join("state.json");
                    let text = std::fs::read_to_string(&newest).expect("state");
                    let text = text.replace("\"format_version\": 1", "\"format_version\": 99");
                    write(newest, text);
                }
            },
            &["train", "--resume", "run", "--quiet"],
            &["state.json", "format 99 is newer"],
        ),
        case(
            "checkpoint: state.json not JSON in every checkpoint",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    for checkpoint in checkpoints(&dir.join("run")) {
                        write(checkpoint.join("state.json"), "{\"step\": ");
                    }
                }
            },
            &["train", "--resume", "run", "--quiet"],
            &["checkpoints", "none of the 2 checkpoint(s) verifies"],
        ),
        // .npy galleries and other command inputs
        case(
            "npy: gallery truncated",
            {
                let run = run.clone();
                move |dir: &Path| {
                    run("small")(dir);
                    write(
                        dir.join("gallery.npy"),
                        b"\x93NUMPY\x01\x00\x76\x00{'descr'",
                    );
                }
            },
            &[
                "search",
                "--run",
                "run",
                "--query",
                "query.png",
                "--gallery",
                "gallery.npy",
            ],
            &["gallery.npy", "truncated header"],
        ),
        case(
            "embed: input that does not exist",
            {
                let run = run.clone();
                move |dir: &Path| run("small")(dir)
            },
            &[
                "embed",
                "--run",
                "run",
                "--input",
                "nowhere.csv",
                "--out",
                "out.npy",
            ],
            &["nowhere.csv"],
        ),
    ]
}

#[test]
fn every_bad_input_is_rejected_cleanly() {
    let root = tempfile::tempdir().expect("temporary directory");
    // Two finished runs to corrupt (checkpoints at steps 2 and 4): the small run and one of another network.
    let images = image_folder(root.path(), 4);
    let images = images.to_str().expect("utf-8");
    for (name, dim) in [("small", "16"), ("other", "8")] {
        let args = tiny_run(images, name, dim);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        succeeds(siamese(&args, root.path()));
    }
    let fixtures = root.path().join("fixtures");
    let cases = corpus(&fixtures);
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let dir = root.path().join(format!("case-{index:02}"));
        std::fs::create_dir_all(&dir).expect("case dir");
        // a query image for `search`
        image::GrayImage::new(12, 12)
            .save(dir.join("query.png"))
            .expect("query");
        (case.setup)(&dir);
        let before = snapshot(&dir);
        let output = siamese(&case.args, &dir);
        let all = text(&output);
        let after = snapshot(&dir);
        let mut problems = Vec::new();
        if output.status.success() {
            problems.push("exited with success".to_string());
        }
        if all.contains("panicked") {
            problems.push("panicked".to_string());
        }
        for needle in &case.needles {
            if !all.contains(needle) {
                problems.push(format!("no {needle:?} in the error"));
            }
        }
        if before != after {
            let changed: Vec<&PathBuf> = before
                .keys()
                .chain(after.keys())
                .filter(|path| before.get(*path) != after.get(*path))
                .collect();
            problems.push(format!("files changed: {changed:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  siamese {}\n  {}",
                case.name,
                problems.join("; "),
                case.args.join(" "),
                all.trim().replace('\n', "\n  ")
            ));
        }
    }
    let clean = cases.len() - failures.len();
    println!("{clean}/{} rejected cleanly", cases.len());
    assert!(
        failures.is_empty(),
        "{clean}/{} rejected cleanly; these were not:\n{}",
        cases.len(),
        failures.join("\n")
    );
}
