//! A run directory, `runs/<name>/`:
//!
//! ```text
//! config.json          the full TrainConfig (a run is reproducible from it)
//! diagnostics.jsonl    one JSON line per step and per evaluation
//! checkpoints/step-N/  model, optimiser and trainer state (the last two kept)
//! model/               the final model: model-config.json + model.bpk
//! summary.json         final metrics
//! ```
//!
//! Files are written atomically: to a temporary name, flushed, then renamed.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::TrainError;
use crate::config::TrainConfig;
use crate::diagnostics::Record;

/// Name of the configuration file in a run directory.
pub const CONFIG_FILE: &str = "config.json";
/// Name of the diagnostics file.
pub const DIAGNOSTICS_FILE: &str = "diagnostics.jsonl";
/// Name of the summary file.
pub const SUMMARY_FILE: &str = "summary.json";

/// A run directory on disk.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    /// The directories this process created for it, innermost first (removed again by
    /// [`RunDir::remove_if_unused`]).
    created: Vec<PathBuf>,
}

/// Writes `bytes` to `path` atomically: a temporary sibling, flushed, renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let temporary = path.with_file_name(name);
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        TrainError::run(path, format!("cannot write: {error}"))
    })
}

impl RunDir {
    /// Creates `runs_dir/name`, which must not hold a run already; checks that it is
    /// writable before any training starts.
    pub fn create(runs_dir: &Path, name: &str) -> Result<Self, TrainError> {
        let path = runs_dir.join(name);
        if path.join(CONFIG_FILE).exists() {
            return Err(TrainError::run(
                &path,
                "a run already exists here; pass --resume with this directory to continue it, or choose another --name",
            ));
        }
        let created: Vec<PathBuf> = path
            .ancestors()
            .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.exists())
            .map(Path::to_path_buf)
            .collect();
        std::fs::create_dir_all(&path).map_err(|error| {
            TrainError::run(&path, format!("cannot create the run directory: {error}"))
        })?;
        let probe = path.join(".write-test");
        std::fs::write(&probe, b"ok")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|error| {
                TrainError::run(&path, format!("the run directory is not writable: {error}"))
            })?;
        Ok(Self { path, created })
    }

    /// Removes the directories [`RunDir::create`] made, as long as nothing was written into
    /// them: a run that fails before it starts (bad data, say) leaves no trace.
    pub fn remove_if_unused(&self) {
        for dir in &self.created {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }

    /// Opens an existing run directory (it must hold `config.json`).
    pub fn open(path: &Path) -> Result<Self, TrainError> {
        if !path.is_dir() {
            return Err(TrainError::run(path, "no such run directory"));
        }
        if !path.join(CONFIG_FILE).is_file() {
            return Err(TrainError::run(
                path,
                format!("not a run directory: {CONFIG_FILE} is missing"),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            created: Vec::new(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Directory of the checkpoints.
    pub fn checkpoints(&self) -> PathBuf {
        self.path.join("checkpoints")
    }

    /// Directory of the final model.
    pub fn model_dir(&self) -> PathBuf {
        self.path.join("model")
    }

    /// Writes the configuration.
    pub fn write_config(&self, config: &TrainConfig) -> Result<(), TrainError> {
        write_atomic(&self.path.join(CONFIG_FILE), config.to_json().as_bytes())
    }

    /// Reads the configuration.
    pub fn read_config(&self) -> Result<TrainConfig, TrainError> {
        TrainConfig::load(&self.path.join(CONFIG_FILE))
    }

    /// Appends one record to the diagnostics.
    pub fn append(&self, record: &Record) -> Result<(), TrainError> {
        let path = self.path.join(DIAGNOSTICS_FILE);
        let line = serde_json::to_string(record)
            .map_err(|error| TrainError::run(&path, format!("cannot encode a record: {error}")))?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| writeln!(file, "{line}"))
            .map_err(|error| TrainError::run(&path, format!("cannot append: {error}")))
    }

    /// Every record of the diagnostics, in order.
    pub fn records(&self) -> Result<Vec<Record>, TrainError> {
        let path = self.path.join(DIAGNOSTICS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(TrainError::run(&path, format!("cannot read: {error}"))),
        };
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(number, line)| {
                serde_json::from_str(line).map_err(|error| {
                    TrainError::run(&path, format!("line {}: {error}", number + 1))
                })
            })
            .collect()
    }

    /// Drops the records after `step` (work lost since the last checkpoint), so a resumed
    /// run's diagnostics read as if it had never stopped. A last line cut short by a kill
    /// is dropped too.
    pub fn keep_records_through(&self, step: usize) -> Result<(), TrainError> {
        let path = self.path.join(DIAGNOSTICS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(TrainError::run(&path, format!("cannot read: {error}"))),
        };
        let kept: String = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<Record>(line).is_ok_and(|record| record.step() <= step)
            })
            .map(|line| format!("{line}\n"))
            .collect();
        write_atomic(&path, kept.as_bytes())
    }

    /// Writes the summary.
    pub fn write_summary(&self, summary: &serde_json::Value) -> Result<(), TrainError> {
        let text = serde_json::to_string_pretty(summary).unwrap_or_default();
        write_atomic(&self.path.join(SUMMARY_FILE), text.as_bytes())
    }
}

/// A fresh run name: `<dataset>-<UTC date>-<time>`.
pub fn default_name(dataset: &str) -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{dataset}-{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}
