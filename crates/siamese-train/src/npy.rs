//! NumPy `.npy` files (format version 1.0): a float32 `[n, dim]` matrix or an int64 `[n]`
//! vector, little-endian, C order.

use std::path::Path;

use crate::TrainError;
use crate::run_dir::write_atomic;

fn with_header(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + data.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Writes `values` (`rows × columns`, row-major) as float32 `[rows, columns]`.
pub fn write_f32_matrix(
    path: &Path,
    values: &[f32],
    rows: usize,
    columns: usize,
) -> Result<(), TrainError> {
    let data: Vec<u8> = values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    write_atomic(
        path,
        &with_header("<f4", &format!("({rows}, {columns})"), &data),
    )
}

/// Writes `values` as int64 `[n]`.
pub fn write_i64_vector(path: &Path, values: &[i64]) -> Result<(), TrainError> {
    let data: Vec<u8> = values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    write_atomic(
        path,
        &with_header("<i8", &format!("({},)", values.len()), &data),
    )
}

/// The header of a `.npy` file and the offset of its data.
fn header(bytes: &[u8]) -> Option<(&str, usize)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return None;
    }
    let (length, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return None,
    };
    let header = std::str::from_utf8(bytes.get(start..start + length)?).ok()?;
    Some((header, start + length))
}

fn read(path: &Path) -> Result<Vec<u8>, TrainError> {
    std::fs::read(path).map_err(|error| TrainError::run(path, format!("cannot read: {error}")))
}

/// Reads an int64 `[n]` vector and checks it has `expected` entries.
pub fn read_i64_vector(path: &Path, expected: usize) -> Result<Vec<i64>, TrainError> {
    parse_i64_vector(&read(path)?, expected, path)
}

/// Parses the bytes of an int64 `[n]` `.npy` file read from `path` and checks it has
/// `expected` entries.
pub fn parse_i64_vector(
    bytes: &[u8],
    expected: usize,
    path: &Path,
) -> Result<Vec<i64>, TrainError> {
    let bad =
        |message: String| TrainError::run(path, format!("not an int64 [n] .npy file: {message}"));
    let (header, data_start) =
        header(bytes).ok_or_else(|| bad("missing or truncated header".into()))?;
    if !header.contains("'descr': '<i8'") {
        return Err(bad(format!("header {header:?} is not little-endian int64")));
    }
    let data = &bytes[data_start..];
    if Some(data.len()) != expected.checked_mul(8) {
        return Err(bad(format!(
            "{} data bytes, expected {expected} labels",
            data.len()
        )));
    }
    Ok(data
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect())
}

/// Reads a float32 `[n, dim]` matrix written by [`write_f32_matrix`] (or NumPy): returns
/// `(values, rows, columns)`.
pub fn read_f32_matrix(path: &Path) -> Result<(Vec<f32>, usize, usize), TrainError> {
    parse_f32_matrix(&read(path)?, path)
}

/// Parses the bytes of a float32 `[n, dim]` `.npy` file read from `path`: returns
/// `(values, rows, columns)`.
pub fn parse_f32_matrix(bytes: &[u8], path: &Path) -> Result<(Vec<f32>, usize, usize), TrainError> {
    let bad = |message: &str| {
        TrainError::run(path, format!("not a float32 [n, dim] .npy file: {message}"))
    };
    let (header, data_start) = header(bytes).ok_or_else(|| bad("missing or truncated header"))?;
    if !header.contains("'descr': '<f4'") || header.contains("'fortran_order': True") {
        return Err(bad(&format!(
            "header {header:?} is not little-endian float32 in C order"
        )));
    }
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|shape| shape.trim().trim_start_matches('('))
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| bad(&format!("shape {shape:?}"))))
        .collect::<Result<_, _>>()?;
    let [rows, columns] = dims[..] else {
        return Err(bad(&format!("shape ({shape}) is not 2-D")));
    };
    let data = &bytes[data_start..];
    if Some(data.len()) != rows.checked_mul(columns).and_then(|n| n.checked_mul(4)) {
        return Err(bad(&format!(
            "{} data bytes for shape ({rows}, {columns})",
            data.len()
        )));
    }
    let values = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((values, rows, columns))
}
