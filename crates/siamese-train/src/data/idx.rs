//! The idx format of MNIST and Fashion-MNIST, optionally gzip'd: a big-endian header
//! (images: magic `0x00000803`, count, rows, columns; labels: `0x00000801`, count), then one
//! byte per pixel or label.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::{ExampleSet, InputShape};
use crate::DataError;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
/// Largest count accepted in a header (guards against absurd allocations).
const MAX_ITEMS: u32 = 100_000_000;
/// Largest decompressed file accepted: 4 GiB (a gzip bomb stops here).
const MAX_DECOMPRESSED: u64 = 1 << 32;

/// Reads an image file and its label file into one set of 1×rows×columns images in
/// `[0, 1]`, labels 0–9.
pub fn read_idx_pair(images: &Path, labels: &Path) -> Result<ExampleSet, DataError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|error| DataError::file(path, format!("cannot read: {error}")))
    };
    parse_idx_pair(&read(images)?, &read(labels)?, images, labels)
}

/// Parses the raw (optionally gzip'd) bytes of an image file and its label file, read
/// from `images` and `labels` (as [`read_idx_pair`]).
pub fn parse_idx_pair(
    image_file: &[u8],
    label_file: &[u8],
    images: &Path,
    labels: &Path,
) -> Result<ExampleSet, DataError> {
    let image_bytes = maybe_gunzip(image_file, images)?;
    let label_bytes = maybe_gunzip(label_file, labels)?;
    let (count, rows, columns, pixels) =
        parse_images(&image_bytes).map_err(|message| DataError::file(images, message))?;
    let label_values =
        parse_labels(&label_bytes).map_err(|message| DataError::file(labels, message))?;
    if label_values.len() != count {
        return Err(DataError::file(
            labels,
            format!(
                "{} labels for the {count} images of {}",
                label_values.len(),
                images.display()
            ),
        ));
    }
    let names = (0..10).map(|class| class.to_string()).collect();
    let values = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    ExampleSet::new(
        InputShape::Image {
            channels: 1,
            height: rows,
            width: columns,
        },
        values,
        label_values,
        names,
    )
    .map_err(|error| DataError::file(images, error.to_string()))
}

/// The bytes of `raw`, decompressed when they start with the gzip magic; `path` names the
/// file in errors. Decompression stops past the largest idx file accepted.
fn maybe_gunzip(raw: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut bytes = Vec::new();
        GzDecoder::new(raw)
            .take(MAX_DECOMPRESSED)
            .read_to_end(&mut bytes)
            .map_err(|error| {
                DataError::file(path, format!("corrupt or truncated gzip data: {error}"))
            })?;
        if bytes.len() as u64 == MAX_DECOMPRESSED {
            return Err(DataError::file(
                path,
                format!(
                    "decompresses to more than {MAX_DECOMPRESSED} bytes, larger than any idx file this reader accepts"
                ),
            ));
        }
        Ok(bytes)
    } else {
        Ok(raw.to_vec())
    }
}

fn header(bytes: &[u8], words: usize) -> Result<Vec<u32>, String> {
    if bytes.len() < 4 * words {
        return Err(format!(
            "{} bytes: too short for the {}-byte idx header",
            bytes.len(),
            4 * words
        ));
    }
    Ok(bytes[..4 * words]
        .chunks_exact(4)
        .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
        .collect())
}

/// `(count, rows, columns, pixels)` of an idx3 image file.
pub(crate) fn parse_images(bytes: &[u8]) -> Result<(usize, usize, usize, &[u8]), String> {
    let words = header(bytes, 4)?;
    if words[0] != IMAGES_MAGIC {
        return Err(format!(
            "magic number {:#010x}, expected {IMAGES_MAGIC:#010x} (idx3 images)",
            words[0]
        ));
    }
    let (count, rows, columns) = (words[1], words[2], words[3]);
    if count == 0 {
        return Err("the header says 0 images".into());
    }
    if count > MAX_ITEMS || rows == 0 || columns == 0 || rows > 4096 || columns > 4096 {
        return Err(format!(
            "implausible header: {count} images of {rows}×{columns}"
        ));
    }
    let expected = count as usize * rows as usize * columns as usize;
    let payload = &bytes[16..];
    if payload.len() != expected {
        return Err(format!(
            "{} bytes of pixels, but the header says {count} images of {rows}×{columns} = {expected}",
            payload.len()
        ));
    }
    Ok((count as usize, rows as usize, columns as usize, payload))
}

/// Labels of an idx1 label file, each checked to be 0–9.
pub(crate) fn parse_labels(bytes: &[u8]) -> Result<Vec<usize>, String> {
    let words = header(bytes, 2)?;
    if words[0] != LABELS_MAGIC {
        return Err(format!(
            "magic number {:#010x}, expected {LABELS_MAGIC:#010x} (idx1 labels)",
            words[0]
        ));
    }
    let count = words[1];
    if count == 0 || count > MAX_ITEMS {
        return Err(format!("implausible header: {count} labels"));
    }
    let payload = &bytes[8..];
    if payload.len() != count as usize {
        return Err(format!(
            "{} label bytes, but the header says {count}",
            payload.len()
        ));
    }
    if let Some((index, label)) = payload.iter().enumerate().find(|(_, label)| **label > 9) {
        return Err(format!("label {label} at position {index}, expected 0–9"));
    }
    Ok(payload.iter().map(|&label| usize::from(label)).collect())
}
