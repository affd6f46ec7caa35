use std::path::PathBuf;

/// What can go wrong building, running, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A configuration that cannot work (zero channels, pooled below 1×1, ...).
    #[error("invalid model configuration: {0}")]
    InvalidConfig(String),
    /// An input whose shape does not fit the configuration.
    #[error("input of shape {actual:?} does not fit the model: expected {expected}")]
    Shape {
        /// What the model takes, e.g. `[batch, 1, 28, 28]`.
        expected: String,
        /// The shape it was given.
        actual: Vec<usize>,
    },
    /// A model directory that cannot be read or written.
    #[error("{path}: {message}")]
    Store {
        /// The file or directory.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}
