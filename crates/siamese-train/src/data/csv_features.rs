//! Feature CSV: numeric feature columns and one label column.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ExampleSet, InputShape};
use crate::DataError;

/// Reads `path`: comma-separated rows, an optional header, numeric features and a label
/// column — named `label_column` (which needs a header) or the last column. Labels may be
/// numbers or names; classes are numbered in sorted order (numerically when every label is
/// an integer).
pub fn read_feature_csv(path: &Path, label_column: Option<&str>) -> Result<ExampleSet, DataError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| DataError::file(path, format!("cannot read: {error}")))?;
    parse_feature_csv(&text, label_column, path)
}

/// Parses the `text` of the feature CSV `path` (as [`read_feature_csv`]).
pub fn parse_feature_csv(
    text: &str,
    label_column: Option<&str>,
    path: &Path,
) -> Result<ExampleSet, DataError> {
    let mut rows = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            (
                number + 1,
                line.split(',').map(str::trim).collect::<Vec<_>>(),
            )
        });
    let Some((first_line, first)) = rows.next() else {
        return Err(DataError::file(
            path,
            "empty file: expected rows of numeric features and a label",
        ));
    };
    let columns = first.len();
    if columns < 2 {
        return Err(DataError::file(
            path,
            format!(
                "line {first_line}: {columns} column, expected at least one feature and a label"
            ),
        ));
    }
    let looks_like_header = first[..columns - 1]
        .iter()
        .any(|field| field.parse::<f32>().is_err());
    let header = (label_column.is_some() || looks_like_header).then(|| first.clone());
    let label_index = match (label_column, &header) {
        (Some(name), Some(header)) => header
            .iter()
            .position(|column| column == &name)
            .ok_or_else(|| {
                DataError::file(
                    path,
                    format!("no column named {name:?} in the header {header:?}"),
                )
            })?,
        _ => columns - 1,
    };
    let data_rows: Vec<(usize, Vec<&str>)> = if header.is_some() {
        rows.collect()
    } else {
        std::iter::once((first_line, first)).chain(rows).collect()
    };
    if data_rows.is_empty() {
        return Err(DataError::file(path, "a header but no data rows"));
    }

    let mut values = Vec::with_capacity(data_rows.len() * (columns - 1));
    let mut raw_labels = Vec::with_capacity(data_rows.len());
    for (line, fields) in &data_rows {
        if fields.len() != columns {
            return Err(DataError::file(
                path,
                format!(
                    "line {line}: {} columns, expected {columns} like the first row",
                    fields.len()
                ),
            ));
        }
        for (column, field) in fields.iter().enumerate() {
            if column == label_index {
                continue;
            }
            let value: f32 = field.parse().map_err(|_| {
                DataError::file(
                    path,
                    format!(
                        "line {line}, column {}: {field:?} is not a number",
                        column + 1
                    ),
                )
            })?;
            if !value.is_finite() {
                return Err(DataError::file(
                    path,
                    format!(
                        "line {line}, column {}: {field} is not a finite number",
                        column + 1
                    ),
                ));
            }
            values.push(value);
        }
        raw_labels.push(fields[label_index].to_string());
    }

    let numeric = raw_labels.iter().all(|label| label.parse::<i64>().is_ok());
    let mut classes: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for label in &raw_labels {
        let key = (
            if numeric {
                label.parse().unwrap_or(0)
            } else {
                0
            },
            label.clone(),
        );
        let next = classes.len();
        classes.entry(key).or_insert(next);
    }
    // Number classes in sorted order.
    let names: Vec<String> = classes.keys().map(|(_, name)| name.clone()).collect();
    let index_of = |label: &String| names.iter().position(|name| name == label).unwrap_or(0);
    let labels: Vec<usize> = raw_labels.iter().map(index_of).collect();
    if names.len() < 2 {
        return Err(DataError::file(
            path,
            format!(
                "a single class ({:?}): triplet training needs at least 2",
                names.first().cloned().unwrap_or_default()
            ),
        ));
    }
    ExampleSet::new(
        InputShape::Features {
            features: columns - 1,
        },
        values,
        labels,
        names,
    )
    .map_err(|error| DataError::file(path, error.to_string()))
}
