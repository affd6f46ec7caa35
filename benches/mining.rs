//! Mining + loss benchmark: forward and backward of each miner/loss pairing at several
//! batch sizes, on each compiled CPU backend, with time and peak memory.
//!
//! Run: `cargo bench --bench mining` (all sizes), or for instance
//! `cargo bench --bench mining -- --sizes 128,512 --backends flex --repeats 5`.
//!
//! Each (backend, method, batch size) runs in a child process of this binary, so its peak
//! resident memory (`VmHWM`) is its own; the table shows the median time of the repeated
//! steps (min–max beside it) and the peak memory above the process's resident size
//! before the first step. Embeddings are `[B, 128]`, L2-normalised, in classes of 8
//! (P = B / 8); each step builds tracked embeddings, mines, computes the loss, runs
//! backward and reads the gradient back (a device sync).

use std::process::Command;
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};
use siamese::triplet::distances::Euclidean;
use siamese::triplet::losses::{BatchAllTripletLoss, TripletMarginLoss};
use siamese::triplet::miners::{
    BatchHardMiner, Miner, SemiHardMiner, TfaSemiHardMiner, TripletMarginMiner, TripletType,
};
use siamese::triplet::reducers::Reducer;

const DIM: usize = 128;
const PER_CLASS: usize = 8;
const MARGIN: f64 = 0.2;
const METHODS: [&str; 5] = [
    "batch-hard",
    "semi-hard (FaceNet)",
    "semi-hard (PML)",
    "semi-hard (TF-Addons)",
    "batch-all",
];

fn device(name: &str) -> Option<Device> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Some(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Some(Device::ndarray()),
        _ => None,
    }
}

/// Seeded class-clustered unit vectors `[batch, DIM]` and labels `[batch]`.
fn data(batch: usize) -> (Vec<f32>, Vec<i64>) {
    let mut state: u64 = 0x00c0_ffee;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let classes = batch.div_ceil(PER_CLASS);
    let centres: Vec<f32> = (0..classes * DIM).map(|_| uniform()).collect();
    let mut rows = Vec::with_capacity(batch * DIM);
    let mut labels = Vec::with_capacity(batch);
    for i in 0..batch {
        let class = i / PER_CLASS;
        let row: Vec<f32> = (0..DIM)
            .map(|j| centres[class * DIM + j] + 2.0 * uniform())
            .collect();
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        rows.extend(row.iter().map(|x| x / norm));
        labels.push(class as i64);
    }
    (rows, labels)
}

/// One forward + backward step; returns the number of triplets used (0 for batch-all).
fn step(method: &str, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, usize) {
    let euclidean = Euclidean::new();
    let mined = |miner: &dyn Miner, reducer: Reducer| {
        let triplets = miner.mine(embeddings.clone(), labels.clone());
        let loss = TripletMarginLoss::new(MARGIN, euclidean)
            .with_reducer(reducer)
            .forward(embeddings.clone(), &triplets);
        (loss, triplets.len())
    };
    match method {
        "batch-hard" => mined(&BatchHardMiner::new(euclidean), Reducer::Mean),
        "semi-hard (FaceNet)" => mined(&SemiHardMiner::new(MARGIN, euclidean), Reducer::AvgNonZero),
        "semi-hard (PML)" => mined(
            &TripletMarginMiner::new(MARGIN, TripletType::SemiHard, euclidean),
            Reducer::AvgNonZero,
        ),
        "semi-hard (TF-Addons)" => mined(&TfaSemiHardMiner::new(euclidean), Reducer::Mean),
        _ => (
            BatchAllTripletLoss::new(MARGIN, euclidean).forward(embeddings.clone(), labels.clone()),
            0,
        ),
    }
}

/// One measured configuration, as the child prints it.
#[derive(Debug, Serialize, Deserialize)]
struct Measurement {
    backend: String,
    method: String,
    batch: usize,
    triplets: usize,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    runs: usize,
    /// Peak resident memory of the child above its resident memory before the first step.
    peak_mib: f64,
    grad_abs_sum: f32,
}

/// `VmHWM` and `VmRSS` of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Child: times `repeats` steps (after one warm-up) within `budget` seconds and prints one
/// JSON line.
fn child(backend: &str, method: &str, batch: usize, repeats: usize, budget: f64) {
    let Some(device) = device(backend) else {
        eprintln!("backend {backend} is not compiled in");
        std::process::exit(2);
    };
    let device = device.autodiff();
    let (rows, labels) = data(batch);
    let (_, base_rss) = memory();
    let run = || {
        let embeddings =
            Tensor::<2>::from_data(TensorData::new(rows.clone(), [batch, DIM]), &device)
                .require_grad();
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [batch]), &device);
        let started = Instant::now();
        let (loss, triplets) = step(method, embeddings.clone(), labels);
        let grads = loss.backward();
        let checksum = embeddings
            .grad(&grads)
            .map_or(0.0, |g| g.abs().sum().into_scalar::<f32>());
        (started.elapsed().as_secs_f64() * 1e3, triplets, checksum)
    };
    let (warmup_ms, triplets, checksum) = run();
    let mut times = vec![];
    let started = Instant::now();
    while times.len() < repeats
        && (times.is_empty() || started.elapsed().as_secs_f64() + warmup_ms / 1e3 < budget)
    {
        times.push(run().0);
    }
    times.sort_by(f64::total_cmp);
    let (peak, _) = memory();
    let measurement = Measurement {
        backend: backend.to_string(),
        method: method.to_string(),
        batch,
        triplets,
        median_ms: times[times.len() / 2],
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        runs: times.len(),
        peak_mib: peak - base_rss,
        grad_abs_sum: checksum,
    };
    match serde_json::to_string(&measurement) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("cannot encode the measurement: {error}"),
    }
}

fn list(arguments: &[String], flag: &str, default: &[&str]) -> Vec<String> {
    arguments
        .iter()
        .position(|a| a == flag)
        .and_then(|i| arguments.get(i + 1))
        .map(|value| value.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect())
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    if let Some(i) = arguments.iter().position(|a| a == "--child") {
        let value = |k: usize| arguments.get(i + k).cloned().unwrap_or_default();
        child(
            &value(1),
            &value(2),
            value(3).parse().unwrap_or(128),
            value(4).parse().unwrap_or(5),
            value(5).parse().unwrap_or(30.0),
        );
        return;
    }
    let sizes = list(&arguments, "--sizes", &["128", "512", "1024", "4096"]);
    let backends = list(&arguments, "--backends", &["flex", "ndarray"]);
    let repeats = list(&arguments, "--repeats", &["5"])[0].clone();
    let budget = list(&arguments, "--budget", &["20"])[0].clone();
    let methods = list(&arguments, "--methods", &METHODS);
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("cannot locate the benchmark executable");
        std::process::exit(1);
    };
    println!(
        "{:<8} {:<22} {:>6} {:>11} {:>12} {:>21} {:>12}",
        "backend", "method", "B", "triplets", "median ms", "min–max ms", "peak MiB"
    );
    let mut results = Vec::new();
    for backend in &backends {
        for method in &methods {
            for size in &sizes {
                let output = Command::new(&exe)
                    .args(["--child", backend, method, size, &repeats, &budget])
                    .output();
                let parsed = match output {
                    Ok(output) if output.status.success() => {
                        serde_json::from_slice::<Measurement>(&output.stdout)
                            .map_err(|error| format!("unreadable result: {error}"))
                    }
                    Ok(output) => Err(format!(
                        "{}: {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                            .lines()
                            .last()
                            .unwrap_or("")
                    )),
                    Err(error) => Err(error.to_string()),
                };
                match parsed {
                    Ok(m) => {
                        println!(
                            "{:<8} {:<22} {:>6} {:>11} {:>12.2} {:>21} {:>12.0}",
                            m.backend,
                            m.method,
                            m.batch,
                            m.triplets,
                            m.median_ms,
                            format!("{:.2}–{:.2}", m.min_ms, m.max_ms),
                            m.peak_mib
                        );
                        results.push(m);
                    }
                    Err(error) => println!("{backend:<8} {method:<22} {size:>6} failed: {error}"),
                }
            }
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-mining.json");
    let written = serde_json::to_string_pretty(&results)
        .map_err(|error| error.to_string())
        .and_then(|json| std::fs::write(&path, json).map_err(|error| error.to_string()));
    match written {
        Ok(()) => println!("results: {}", path.display()),
        Err(error) => eprintln!("cannot write {}: {error}", path.display()),
    }
}
