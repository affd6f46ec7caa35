//! Crash-safe checkpoints: the model, the optimiser state and the trainer state (step,
//! sampler and augmentation generators), with a CRC-32 of every file.
//!
//! A checkpoint is written into a hidden temporary directory, flushed, and renamed to
//! `checkpoints/step-NNNNNNNN`, so a directory with that name is always complete. Loading
//! verifies the checksums; the newest valid checkpoint wins and the last two are kept.

use std::path::{Path, PathBuf};

use burn::optim::AdamConfig;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};
use siamese_model::{Embedder, Siamese};

use crate::TrainError;
use crate::rng::SplitMix64;
use crate::run_dir::{RunDir, write_atomic};
use crate::sampler::SamplerState;

/// Version of the checkpoint layout; a newer one is refused with a clear error.
pub const FORMAT_VERSION: u32 = 1;
const STATE_FILE: &str = "state.json";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// Checkpoints kept.
const KEEP: usize = 2;

/// What the trainer needs, besides model and optimiser, to continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Layout version.
    pub format_version: u32,
    /// Steps completed.
    pub step: usize,
    /// The P×K sampler.
    pub sampler: SamplerState,
    /// The augmentation generator.
    pub augmentation: SplitMix64,
    /// Non-finite steps in a row so far.
    pub nonfinite_in_row: usize,
    /// CRC-32 of each file of the checkpoint, by name.
    #[serde(default)]
    pub checksums: Vec<(String, u32)>,
}

fn crc32(path: &Path) -> Result<u32, TrainError> {
    let bytes = std::fs::read(path)
        .map_err(|error| TrainError::run(path, format!("cannot read: {error}")))?;
    let mut crc = flate2::Crc::new();
    crc.update(&bytes);
    Ok(crc.sum())
}

fn sync_dir(path: &Path) {
    // Flushing the directory entry makes the rename durable; not every platform allows it.
    if let Ok(dir) = std::fs::File::open(path) {
        let _ = dir.sync_all();
    }
}

/// Writes a checkpoint of `step` and prunes older ones.
pub fn save<E: Embedder>(
    run: &RunDir,
    model: &Siamese<E>,
    optimizer: &ModuleOptimizer,
    state: &TrainerState,
) -> Result<PathBuf, TrainError> {
    let root = run.checkpoints();
    std::fs::create_dir_all(&root)
        .map_err(|error| TrainError::run(&root, format!("cannot create: {error}")))?;
    let name = format!("step-{:08}", state.step);
    let final_dir = root.join(&name);
    let temporary = root.join(format!(".{name}.tmp"));
    if temporary.exists() {
        std::fs::remove_dir_all(&temporary).map_err(|error| {
            TrainError::run(
                &temporary,
                format!("cannot remove a stale temporary checkpoint: {error}"),
            )
        })?;
    }
    model.save_dir(&temporary)?;
    let optimizer_path = temporary.join(OPTIMIZER_FILE);
    optimizer.save(&optimizer_path).map_err(|error| {
        TrainError::run(
            &optimizer_path,
            format!("cannot write the optimiser state: {error}"),
        )
    })?;
    let mut state = state.clone();
    state.checksums = [
        siamese_model::CONFIG_FILE,
        siamese_model::WEIGHTS_FILE,
        OPTIMIZER_FILE,
    ]
    .iter()
    .map(|file| Ok((file.to_string(), crc32(&temporary.join(file))?)))
    .collect::<Result<_, TrainError>>()?;
    for file in [
        siamese_model::CONFIG_FILE,
        siamese_model::WEIGHTS_FILE,
        OPTIMIZER_FILE,
    ] {
        let path = temporary.join(file);
        std::fs::File::open(&path)
            .and_then(|handle| handle.sync_all())
            .map_err(|error| TrainError::run(&path, format!("cannot flush: {error}")))?;
    }
    let state_json = serde_json::to_string_pretty(&state)
        .map_err(|error| TrainError::run(&temporary, error.to_string()))?;
    write_atomic(&temporary.join(STATE_FILE), state_json.as_bytes())?;
    sync_dir(&temporary);
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)
            .map_err(|error| TrainError::run(&final_dir, format!("cannot replace: {error}")))?;
    }
    std::fs::rename(&temporary, &final_dir).map_err(|error| {
        TrainError::run(
            &final_dir,
            format!("cannot move the checkpoint into place: {error}"),
        )
    })?;
    sync_dir(&root);
    for old in checkpoint_dirs(&root)?.into_iter().skip(KEEP) {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(final_dir)
}

/// Complete checkpoint directories, newest first.
fn checkpoint_dirs(root: &Path) -> Result<Vec<PathBuf>, TrainError> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(TrainError::run(root, format!("cannot list: {error}"))),
    };
    let mut dirs: Vec<(usize, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.parse().ok()?;
            Some((step, entry.path()))
        })
        .collect();
    dirs.sort_by_key(|(step, _)| std::cmp::Reverse(*step));
    Ok(dirs.into_iter().map(|(_, path)| path).collect())
}

/// Fails when `version` (of the state file `path`) is newer than [`FORMAT_VERSION`].
fn known_format(version: u32, path: &Path) -> Result<(), TrainError> {
    if version > FORMAT_VERSION {
        return Err(TrainError::run(
            path,
            format!(
                "checkpoint format {version} is newer than this program's {FORMAT_VERSION}; use a newer siamese"
            ),
        ));
    }
    Ok(())
}

/// Fails when `dir/state.json` declares a layout newer than [`FORMAT_VERSION`]; a state that
/// cannot be read says nothing about its version and is left to [`read_state`].
fn refuse_newer_format(dir: &Path) -> Result<(), TrainError> {
    #[derive(Deserialize)]
    struct Version {
        format_version: u32,
    }
    let path = dir.join(STATE_FILE);
    let version = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str::<Version>(&text).ok());
    match version {
        Some(Version { format_version }) => known_format(format_version, &path),
        None => Ok(()),
    }
}

/// Reads and verifies a checkpoint's trainer state.
pub fn read_state(dir: &Path) -> Result<TrainerState, TrainError> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| {
        TrainError::run(&path, format!("cannot read the checkpoint state: {error}"))
    })?;
    let state = parse_state(&text, &path)?;
    for (file, expected) in &state.checksums {
        let actual = crc32(&dir.join(file))?;
        if actual != *expected {
            return Err(TrainError::run(
                &dir.join(file),
                format!(
                    "checksum {actual:#010x} does not match {expected:#010x}: the file is corrupt or truncated"
                ),
            ));
        }
    }
    Ok(state)
}

/// Parses the text of a checkpoint's `state.json` (read from `path`): the layout version
/// must be one this program knows, and the checksums must name the checkpoint's files.
pub fn parse_state(text: &str, path: &Path) -> Result<TrainerState, TrainError> {
    let state: TrainerState = serde_json::from_str(text)
        .map_err(|error| TrainError::run(path, format!("corrupt checkpoint state: {error}")))?;
    known_format(state.format_version, path)?;
    let files = [
        siamese_model::CONFIG_FILE,
        siamese_model::WEIGHTS_FILE,
        OPTIMIZER_FILE,
    ];
    if let Some((file, _)) = state
        .checksums
        .iter()
        .find(|(file, _)| !files.contains(&file.as_str()))
    {
        return Err(TrainError::run(
            path,
            format!("checksum of {file:?}, which is not a checkpoint file (expected {files:?})"),
        ));
    }
    if let Some(missing) = files
        .iter()
        .find(|file| !state.checksums.iter().any(|(name, _)| name == *file))
    {
        return Err(TrainError::run(
            path,
            format!("no checksum of {missing}: the state is incomplete"),
        ));
    }
    Ok(state)
}

/// The checkpoint a run resumes from, and the broken newer ones that were passed over.
#[derive(Debug, Default)]
pub struct Latest {
    /// The newest checkpoint that verifies: its directory and state.
    pub found: Option<(PathBuf, TrainerState)>,
    /// Why each newer checkpoint was skipped.
    pub skipped: Vec<String>,
}

/// The newest checkpoint of `run` that verifies. A checkpoint written by a newer program is
/// an error, not a reason to fall back to an older one: the run has moved on past it.
pub fn latest(run: &RunDir) -> Result<Latest, TrainError> {
    let mut latest = Latest::default();
    for dir in checkpoint_dirs(&run.checkpoints())? {
        refuse_newer_format(&dir)?;
        match read_state(&dir) {
            Ok(state) => {
                latest.found = Some((dir, state));
                break;
            }
            Err(error) => latest.skipped.push(error.to_string()),
        }
    }
    Ok(latest)
}

/// Loads a checkpoint's model (on `device`) and optimiser.
pub fn load<E: Embedder>(
    dir: &Path,
    device: &burn::prelude::Device,
) -> Result<(Siamese<E>, ModuleOptimizer), TrainError> {
    let model = Siamese::<E>::load_dir(dir, device)?;
    let optimizer_path = dir.join(OPTIMIZER_FILE);
    let optimizer = new_optimizer().load(&optimizer_path).map_err(|error| {
        TrainError::run(
            &optimizer_path,
            format!("cannot load the optimiser state: {error}"),
        )
    })?;
    Ok((model, optimizer))
}

/// The optimiser of every run: Adam with Burn's defaults.
pub fn new_optimizer() -> ModuleOptimizer {
    AdamConfig::new().init()
}
