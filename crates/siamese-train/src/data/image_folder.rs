//! A folder of class sub-folders of PNG/JPEG images, read with the `image` crate.
//!
//! burn-dataset's `ImageFolderDataset` needs its `vision` feature, which also pulls in an
//! HTTP stack for downloads; the `image` crate alone (PNG and JPEG decoders only) decodes
//! the same files at a fraction of the build cost, so this reader uses it directly.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use super::{ExampleSet, InputShape};
use crate::DataError;

const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Reads `root/<class>/<image>` for every class sub-folder (sorted by name), converting
/// every image to `channels` (1 grey or 3 RGB) and resizing it to `height` × `width`.
pub fn read_image_folder(
    root: &Path,
    channels: usize,
    height: usize,
    width: usize,
) -> Result<ExampleSet, DataError> {
    if channels != 1 && channels != 3 {
        return Err(DataError::file(
            root,
            format!("{channels} channels requested; images convert to 1 (grey) or 3 (RGB)"),
        ));
    }
    if height == 0 || width == 0 {
        return Err(DataError::file(
            root,
            format!("image size {height}×{width} has a zero side"),
        ));
    }
    let entries = std::fs::read_dir(root)
        .map_err(|error| DataError::file(root, format!("cannot read the image folder: {error}")))?;
    let mut class_dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    class_dirs.sort();
    if class_dirs.len() < 2 {
        return Err(DataError::file(
            root,
            format!(
                "{} class sub-folder(s); expected one sub-folder of images per class, at least 2",
                class_dirs.len()
            ),
        ));
    }
    let mut names = Vec::new();
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (class, dir) in class_dirs.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|error| {
                DataError::file(dir, format!("cannot read the class folder: {error}"))
            })?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .and_then(|extension| extension.to_str())
                    .is_some_and(|extension| {
                        EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
                    })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError::file(
                dir,
                "class folder with no .png/.jpg/.jpeg image",
            ));
        }
        for file in files {
            values.extend(read_image(&file, channels, height, width)?);
            labels.push(class);
        }
        names.push(
            dir.file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    ExampleSet::new(
        InputShape::Image {
            channels,
            height,
            width,
        },
        values,
        labels,
        names,
    )
    .map_err(|error| DataError::file(root, error.to_string()))
}

/// One image as `[channels, height, width]` values in `[0, 1]`.
pub fn read_image(
    path: &Path,
    channels: usize,
    height: usize,
    width: usize,
) -> Result<Vec<f32>, DataError> {
    let image = image::open(path)
        .map_err(|error| DataError::file(path, format!("cannot decode the image: {error}")))?;
    let (h, w) = (height as u32, width as u32);
    let values = if channels == 1 {
        let grey = image::imageops::resize(&image.to_luma8(), w, h, FilterType::Triangle);
        grey.pixels()
            .map(|pixel| f32::from(pixel[0]) / 255.0)
            .collect()
    } else {
        let rgb = image::imageops::resize(&image.to_rgb8(), w, h, FilterType::Triangle);
        // Planar layout: all red, then green, then blue.
        (0..3)
            .flat_map(|channel| {
                rgb.pixels()
                    .map(move |pixel| f32::from(pixel[channel]) / 255.0)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    Ok(values)
}
