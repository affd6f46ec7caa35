//! Labelled datasets in memory, their readers and their splits.
//!
//! Every reader validates what it reads (magic numbers, counts, sizes, label ranges,
//! decoding, row lengths) and fails with a [`DataError`] naming the file and what was
//! expected; nothing is truncated or guessed silently.

mod csv_features;
mod idx;
mod image_folder;
mod mnist5k;
mod split;

use std::path::PathBuf;

use burn::data::dataset::Dataset;
use serde::{Deserialize, Serialize};

use crate::DataError;

pub use csv_features::{parse_feature_csv, read_feature_csv};
pub use idx::{parse_idx_pair, read_idx_pair};
pub use image_folder::{read_image, read_image_folder};
pub use mnist5k::{MNIST5K_CSV_GZ, mnist5k};
pub use split::{Split, Splits, split};

/// What one example looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputShape {
    /// Images `[channels, height, width]`, values in `[0, 1]`.
    Image {
        /// Colour channels.
        channels: usize,
        /// Rows of pixels.
        height: usize,
        /// Columns of pixels.
        width: usize,
    },
    /// Feature vectors of a fixed length.
    Features {
        /// Values per example.
        features: usize,
    },
}

impl InputShape {
    /// Values per example.
    pub fn len(&self) -> usize {
        match *self {
            InputShape::Image {
                channels,
                height,
                width,
            } => channels * height * width,
            InputShape::Features { features } => features,
        }
    }

    /// `true` when an example has no value (never for a valid set).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for InputShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputShape::Image {
                channels,
                height,
                width,
            } => write!(f, "{channels}×{height}×{width} images"),
            InputShape::Features { features } => write!(f, "{features} features"),
        }
    }
}

/// One labelled example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Pixels (row-major `[channels, height, width]`) or features.
    pub values: Vec<f32>,
    /// Class index, `0..num_classes`.
    pub label: usize,
}

/// A labelled set held in memory: `len` examples of one [`InputShape`].
#[derive(Debug, Clone)]
pub struct ExampleSet {
    shape: InputShape,
    values: Vec<f32>,
    labels: Vec<usize>,
    class_names: Vec<String>,
}

impl ExampleSet {
    /// `values` holds `labels.len() × shape.len()` numbers; every label indexes
    /// `class_names`.
    pub fn new(
        shape: InputShape,
        values: Vec<f32>,
        labels: Vec<usize>,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        if values.len() != labels.len() * shape.len() {
            return Err(DataError::Unusable(format!(
                "{} values for {} examples of {shape} (expected {})",
                values.len(),
                labels.len(),
                labels.len() * shape.len()
            )));
        }
        if let Some(label) = labels.iter().find(|&&label| label >= class_names.len()) {
            return Err(DataError::Unusable(format!(
                "label {label} but only {} classes",
                class_names.len()
            )));
        }
        if let Some(value) = values.iter().find(|value| !value.is_finite()) {
            return Err(DataError::Unusable(format!(
                "a non-finite value ({value}) in the data"
            )));
        }
        Ok(Self {
            shape,
            values,
            labels,
            class_names,
        })
    }

    /// What each example looks like.
    pub fn shape(&self) -> InputShape {
        self.shape
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` without examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Class index of every example.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Names of the classes, by index.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The values of example `index`.
    pub fn values(&self, index: usize) -> &[f32] {
        let width = self.shape.len();
        &self.values[index * width..(index + 1) * width]
    }

    /// All values, row-major `[len, shape.len()]`.
    pub fn all_values(&self) -> &[f32] {
        &self.values
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> ExampleSet {
        let mut values = Vec::with_capacity(indices.len() * self.shape.len());
        for &index in indices {
            values.extend_from_slice(self.values(index));
        }
        ExampleSet {
            shape: self.shape,
            values,
            labels: indices.iter().map(|&index| self.labels[index]).collect(),
            class_names: self.class_names.clone(),
        }
    }

    /// The examples whose label satisfies `keep`.
    pub fn filter_classes(&self, keep: impl Fn(usize) -> bool) -> ExampleSet {
        let indices: Vec<usize> = (0..self.len()).filter(|&i| keep(self.labels[i])).collect();
        self.subset(&indices)
    }

    /// Examples per class, by class index.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &label in &self.labels {
            counts[label] += 1;
        }
        counts
    }
}

impl Dataset<Example, DataError> for ExampleSet {
    fn get(&self, index: usize) -> Result<Example, DataError> {
        if index >= self.len() {
            return Err(DataError::Unusable(format!(
                "example {index} of a set of {}",
                self.len()
            )));
        }
        Ok(Example {
            values: self.values(index).to_vec(),
            label: self.labels[index],
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// Which dataset to train on, and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DatasetSpec {
    /// The embedded 5,000 MNIST digits; seeded stratified 4,000 / 1,000 split.
    Mnist5k,
    /// Fashion-MNIST idx.gz files in `dir` (official 60,000 / 10,000 split).
    FashionMnist {
        /// Directory of the four `*-ubyte.gz` files.
        dir: PathBuf,
    },
    /// One sub-folder per class of PNG/JPEG images, converted to `channels` × `height` ×
    /// `width`; seeded stratified 80 / 20 split.
    Folder {
        /// The root folder.
        dir: PathBuf,
        /// Channels to convert to (1 grey, 3 RGB).
        channels: usize,
        /// Height to resize to.
        height: usize,
        /// Width to resize to.
        width: usize,
    },
    /// A CSV of numeric feature columns and a label column; seeded stratified 80 / 20
    /// split.
    Csv {
        /// The file.
        file: PathBuf,
        /// Name of the label column (default: the last column).
        label_column: Option<String>,
    },
}

/// The default location of the Debian package `dataset-fashion-mnist`.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

impl DatasetSpec {
    /// Short name, as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            DatasetSpec::Mnist5k => "mnist5k",
            DatasetSpec::FashionMnist { .. } => "fashion-mnist",
            DatasetSpec::Folder { .. } => "folder",
            DatasetSpec::Csv { .. } => "csv",
        }
    }

    /// Reads the data and splits it into training and evaluation sets.
    pub fn load(&self, split_kind: Split, seed: u64) -> Result<Splits, DataError> {
        let (train, test) = match self {
            DatasetSpec::Mnist5k => split::stratified(&mnist5k()?, 0.2, seed),
            DatasetSpec::FashionMnist { dir } => {
                let train = read_idx_pair(
                    &dir.join("train-images-idx3-ubyte.gz"),
                    &dir.join("train-labels-idx1-ubyte.gz"),
                )
                .map_err(|error| fashion_hint(dir, error))?;
                let test = read_idx_pair(
                    &dir.join("t10k-images-idx3-ubyte.gz"),
                    &dir.join("t10k-labels-idx1-ubyte.gz"),
                )
                .map_err(|error| fashion_hint(dir, error))?;
                (train, test)
            }
            DatasetSpec::Folder {
                dir,
                channels,
                height,
                width,
            } => split::stratified(
                &read_image_folder(dir, *channels, *height, *width)?,
                0.2,
                seed,
            ),
            DatasetSpec::Csv { file, label_column } => {
                split::stratified(&read_feature_csv(file, label_column.as_deref())?, 0.2, seed)
            }
        };
        split(train, test, split_kind)
    }
}

fn fashion_hint(dir: &std::path::Path, error: DataError) -> DataError {
    if dir.exists() {
        return error;
    }
    DataError::file(
        dir,
        format!(
            "Fashion-MNIST is not there. Install it with `apt-get install dataset-fashion-mnist` \
             (files land in {FASHION_MNIST_DIR}), or pass --data-dir with the directory holding \
             train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz \
             and t10k-labels-idx1-ubyte.gz"
        ),
    )
}
