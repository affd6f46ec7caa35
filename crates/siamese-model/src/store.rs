//! A model directory: the embedder's configuration (JSON) and the weights (burnpack).

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::prelude::*;

use crate::{Embedder, EmbedderConfig, ModelError, Siamese};

/// The embedder configuration inside a model directory.
pub const CONFIG_FILE: &str = "model-config.json";
/// The weights inside a model directory.
pub const WEIGHTS_FILE: &str = "model.bpk";

fn store_error(path: &Path, message: impl std::fmt::Display) -> ModelError {
    ModelError::Store {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// A sibling path to write first and rename over `path`, so readers see the old file or the
/// new one, never a partial write.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Flushes `temporary` to disk, then renames it over `path`.
fn replace(temporary: &Path, path: &Path) -> Result<(), ModelError> {
    std::fs::File::open(temporary)
        .and_then(|file| file.sync_all())
        .map_err(|error| store_error(path, format!("cannot flush the new file: {error}")))?;
    std::fs::rename(temporary, path).map_err(|error| {
        store_error(
            path,
            format!("cannot move the new file into place: {error}"),
        )
    })
}

pub(crate) fn save<E: Embedder>(embedder: E, directory: &Path) -> Result<(), ModelError> {
    std::fs::create_dir_all(directory).map_err(|error| {
        store_error(
            directory,
            format!("cannot create the model directory: {error}"),
        )
    })?;
    let config_path = directory.join(CONFIG_FILE);
    let config_temporary = temporary(&config_path);
    embedder.config().save(&config_temporary).map_err(|error| {
        store_error(
            &config_path,
            format!("cannot write the configuration: {error}"),
        )
    })?;
    let weights_path = directory.join(WEIGHTS_FILE);
    let weights_temporary = temporary(&weights_path);
    embedder.save_file(&weights_temporary).map_err(|error| {
        store_error(&weights_path, format!("cannot write the weights: {error}"))
    })?;
    replace(&config_temporary, &config_path)?;
    replace(&weights_temporary, &weights_path)
}

pub(crate) fn load<E: Embedder>(
    directory: &Path,
    device: &Device,
) -> Result<Siamese<E>, ModelError> {
    let config_path = directory.join(CONFIG_FILE);
    if !config_path.is_file() {
        return Err(store_error(
            directory,
            format!("not a model directory: {CONFIG_FILE} is missing"),
        ));
    }
    let text = std::fs::read_to_string(&config_path).map_err(|error| {
        store_error(
            &config_path,
            format!("cannot read the model configuration: {error}"),
        )
    })?;
    let config = E::Config::from_json(&text).map_err(|error| {
        store_error(
            &config_path,
            format!("unreadable model configuration: {error}"),
        )
    })?;
    let embedder = config.init(device)?;
    let weights_path = directory.join(WEIGHTS_FILE);
    if !weights_path.is_file() {
        return Err(store_error(
            directory,
            format!("not a model directory: {WEIGHTS_FILE} is missing"),
        ));
    }
    let embedder = embedder.try_load_file(&weights_path).map_err(|error| {
        store_error(
            &weights_path,
            format!("weights do not fit the configuration in {CONFIG_FILE}: {error}"),
        )
    })?;
    Ok(Siamese::new(embedder))
}
