//! Shared benchmark harness: every configuration runs in a child process of the bench
//! binary, so its peak resident memory (`VmHWM`) is its own; the parent prints a table and
//! writes JSON to `target/bench-<name>.json`.
//!
//! It also draws them, as a PNG bar chart next to the JSON (`target/bench-<name>.png`).
//!
//! Flags: `--backends flex,ndarray[,wgpu]`, `--methods a,b`, `--sizes 128,512`,
//! `--repeats 5`, `--budget 20` (seconds of timed steps per configuration, at least one
//! step). wgpu needs `--features wgpu`; on every backend the first step (which compiles
//! kernels on wgpu) is an untimed warm-up, and each timed step waits for the device.

mod charts;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// A benchmark: named methods at several batch sizes.
pub trait Bench {
    /// Name of the JSON file, `target/bench-<name>.json`.
    const NAME: &'static str;
    /// Methods measured by default.
    const METHODS: &'static [&'static str];
    /// Batch sizes measured by default.
    const SIZES: &'static [usize];

    /// Builds one configuration on `device` (of the backend named `backend`) and returns a
    /// step to time; each call runs the
    /// step once, synchronises with the device and returns how many items it produced
    /// (mined triplets, for instance), or 0.
    fn prepare(
        device: &Device,
        backend: &str,
        method: &str,
        batch: usize,
    ) -> Box<dyn FnMut() -> usize>;
}

/// Seeded class-clustered unit vectors `[n, dim]` (row-major) and labels `[n]`: class
/// centres and per-item noise from a 64-bit LCG, `centre + 2 · noise`, L2-normalised;
/// classes of `per_class` consecutive items. `bench/peer/peer.py` generates the same
/// numbers (the norm may differ in the last bit).
#[allow(dead_code)] // Only the mining and evaluation benches use it.
pub fn clustered_unit_vectors(n: usize, dim: usize, per_class: usize) -> (Vec<f32>, Vec<i64>) {
    let mut state: u64 = 0x00c0_ffee;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let classes = n.div_ceil(per_class);
    let centres: Vec<f32> = (0..classes * dim).map(|_| uniform()).collect();
    let mut rows = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i / per_class;
        let row: Vec<f32> = (0..dim)
            .map(|j| centres[class * dim + j] + 2.0 * uniform())
            .collect();
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        rows.extend(row.iter().map(|x| x / norm));
        labels.push(class as i64);
    }
    (rows, labels)
}

/// Values a step computed (metrics, for instance), reported with the measurement.
static VALUES: std::sync::Mutex<Option<serde_json::Value>> = std::sync::Mutex::new(None);

/// Reports `values` with this configuration's measurement (the last call wins).
#[allow(dead_code)] // Only the benches that compute values call it.
pub fn report_values(values: serde_json::Value) {
    if let Ok(mut slot) = VALUES.lock() {
        *slot = Some(values);
    }
}

/// One measured configuration, as a child prints it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Measurement {
    pub backend: String,
    pub method: String,
    pub batch: usize,
    /// Items the step produced (e.g. mined triplets); 0 when not applicable.
    pub items: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub runs: usize,
    /// Batch elements per second at the median step time.
    pub per_second: f64,
    /// Peak resident memory above the resident memory before the first step, MiB.
    pub peak_mib: f64,
    /// CPU seconds (all threads) per wall second over the timed steps: about the number of
    /// busy threads, so it shows whether a thread limit was honoured.
    pub cpu_per_wall: f64,
    /// Values the step reported (`report_values`), e.g. the metrics it computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
}

/// The default embedder's configuration with its conv blocks computed as the trainer
/// computes them on `backend` (`siamese_train::backend::product_blocks`).
#[allow(dead_code)] // Only the benches that build an embedder use it.
pub fn embedder_config(backend: &str) -> siamese::model::ConvEmbedderConfig {
    let config = siamese::model::ConvEmbedderConfig::new();
    let kind = siamese::train::config::parse_name::<siamese::train::config::BackendKind>(backend)
        .unwrap_or_else(|| panic!("unknown backend {backend:?}; expected flex, ndarray or wgpu"));
    let blocks = siamese::train::backend::product_blocks(kind, config.channels.len());
    config.with_product_blocks(blocks)
}

/// The device of a compiled backend, by name (`flex`, `ndarray`, `wgpu`), or why not.
pub fn device(name: &str) -> Result<Device, String> {
    let kind = siamese::train::config::parse_name::<siamese::train::config::BackendKind>(name)
        .ok_or_else(|| format!("unknown backend {name:?}; expected flex, ndarray or wgpu"))?;
    siamese::train::backend::backend_device(kind).map_err(|error| error.to_string())
}

/// CPU seconds this process has used, user and system, all threads (`/proc/self/stat`,
/// in clock ticks of 1/100 s, the Linux default).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime: fields 14 and 15 of the line; the list starts at field 3.
    (ticks(11) + ticks(12)) / 100.0
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

fn flag(arguments: &[String], name: &str) -> Option<String> {
    arguments
        .iter()
        .position(|a| a == name)
        .and_then(|i| arguments.get(i + 1))
        .cloned()
}

fn list(arguments: &[String], name: &str, default: Vec<String>) -> Vec<String> {
    flag(arguments, name).map_or(default, |value| {
        value.split(',').map(str::to_string).collect()
    })
}

/// Child: one configuration, printed as one JSON line.
fn child<B: Bench>(backend: &str, method: &str, batch: usize, repeats: usize, budget: f64) {
    let device = match device(backend) {
        Ok(device) => device,
        Err(error) => {
            eprintln!("backend {backend}: {error}");
            std::process::exit(2);
        }
    };
    let (_, base) = memory();
    let mut step = B::prepare(&device, backend, method, batch);
    let started = Instant::now();
    let items = step();
    // wgpu queues work: each timed step ends when the device has finished it.
    let synchronised = |device: &Device| {
        if let Err(error) = device.sync() {
            eprintln!("backend {backend}: {error:?}");
            std::process::exit(1);
        }
    };
    synchronised(&device);
    let warmup = started.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    while times.len() < repeats.max(1)
        && (times.is_empty() || started.elapsed().as_secs_f64() + warmup < budget)
    {
        let begin = Instant::now();
        step();
        synchronised(&device);
        times.push(begin.elapsed().as_secs_f64() * 1e3);
    }
    let cpu_per_wall = (cpu_seconds() - cpu_before) / started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let (peak, _) = memory();
    let median = times[times.len() / 2];
    let measurement = Measurement {
        backend: backend.to_string(),
        method: method.to_string(),
        batch,
        items,
        median_ms: median,
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        runs: times.len(),
        per_second: batch as f64 / (median / 1e3),
        peak_mib: peak - base,
        cpu_per_wall,
        values: VALUES.lock().ok().and_then(|slot| slot.clone()),
    };
    match serde_json::to_string(&measurement) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("cannot encode the measurement: {error}"),
    }
}

/// The bench binary's `main`.
pub fn main<B: Bench>() {
    // As the `siamese` binary does: freed tensors stay in the heap for the next step.
    siamese::train::allocator::keep_freed_memory();
    let arguments: Vec<String> = std::env::args().collect();
    // `bench/peer/compare.py` draws its charts with these: `--chart-compare JSON PNG`,
    // `--chart-loss-curves JSON PNG`.
    for (mode, draw) in [
        (
            "--chart-compare",
            charts::comparison as fn(&Path, &Path) -> Result<(), String>,
        ),
        ("--chart-loss-curves", charts::loss_curves),
    ] {
        if let Some(i) = arguments.iter().position(|a| a == mode) {
            let (Some(json), Some(png)) = (arguments.get(i + 1), arguments.get(i + 2)) else {
                eprintln!("{mode} needs the JSON file to read and the PNG file to write");
                std::process::exit(2);
            };
            if let Err(error) = draw(Path::new(json), Path::new(png)) {
                eprintln!("{error}");
                std::process::exit(1);
            }
            println!("chart: {png}");
            return;
        }
    }
    if let Some(i) = arguments.iter().position(|a| a == "--child") {
        let value = |k: usize| arguments.get(i + k).cloned().unwrap_or_default();
        child::<B>(
            &value(1),
            &value(2),
            value(3).parse().unwrap_or(128),
            value(4).parse().unwrap_or(5),
            value(5).parse().unwrap_or(20.0),
        );
        return;
    }
    let backends = list(
        &arguments,
        "--backends",
        vec!["flex".into(), "ndarray".into()],
    );
    let methods = list(
        &arguments,
        "--methods",
        B::METHODS.iter().map(|m| m.to_string()).collect(),
    );
    let sizes = list(
        &arguments,
        "--sizes",
        B::SIZES.iter().map(|s| s.to_string()).collect(),
    );
    let repeats = flag(&arguments, "--repeats").unwrap_or_else(|| "5".into());
    let budget = flag(&arguments, "--budget").unwrap_or_else(|| "20".into());
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("cannot locate the benchmark executable");
        std::process::exit(1);
    };
    println!(
        "{:<8} {:<24} {:>6} {:>10} {:>11} {:>19} {:>10} {:>9} {:>5}",
        "backend", "method", "B", "items", "median ms", "min–max ms", "per s", "peak MiB", "cpu"
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
                            "{:<8} {:<24} {:>6} {:>10} {:>11.2} {:>19} {:>10.0} {:>9.0} {:>5.2}",
                            m.backend,
                            m.method,
                            m.batch,
                            m.items,
                            m.median_ms,
                            format!("{:.1}–{:.1}", m.min_ms, m.max_ms),
                            m.per_second,
                            m.peak_mib,
                            m.cpu_per_wall
                        );
                        results.push(m);
                    }
                    Err(error) => println!("{backend:<8} {method:<24} {size:>6} failed: {error}"),
                }
            }
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-{}.json", B::NAME));
    if let Some(folder) = path.parent() {
        // A target dir elsewhere (CARGO_TARGET_DIR) leaves no `target/` here.
        let _ = std::fs::create_dir_all(folder);
    }
    let written = serde_json::to_string_pretty(&results)
        .map_err(|error| error.to_string())
        .and_then(|json| std::fs::write(&path, json).map_err(|error| error.to_string()));
    match written {
        Ok(()) => println!("results: {}", path.display()),
        Err(error) => eprintln!("cannot write {}: {error}", path.display()),
    }
    let chart = path.with_extension("png");
    match charts::backends(&chart, B::NAME, &backends, &results) {
        Ok(()) => println!("chart: {}", chart.display()),
        Err(error) => eprintln!("cannot draw {}: {error}", chart.display()),
    }
}
