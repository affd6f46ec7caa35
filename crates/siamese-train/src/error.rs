//! Errors that name the file or value at fault and what was expected.

use std::path::{Path, PathBuf};

/// A dataset that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file (or directory) that is missing, unreadable or malformed.
    #[error("{path}: {message}")]
    File {
        /// The file at fault.
        path: PathBuf,
        /// What was wrong, and what was expected.
        message: String,
    },
    /// Data that was read but cannot be trained or evaluated on.
    #[error("{0}")]
    Unusable(String),
}

impl DataError {
    /// An error about `path`.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        DataError::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A training, evaluation or run-directory failure.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The model.
    #[error(transparent)]
    Model(#[from] siamese_model::ModelError),
    /// A run directory or checkpoint.
    #[error("{path}: {message}")]
    Run {
        /// The file or directory at fault.
        path: PathBuf,
        /// What was wrong, and what was expected.
        message: String,
    },
    /// A configuration value that cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Training that cannot continue.
    #[error("training stopped: {0}")]
    Stopped(String),
}

impl TrainError {
    /// An error about a run-directory `path`.
    pub fn run(path: &Path, message: impl Into<String>) -> Self {
        TrainError::Run {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
