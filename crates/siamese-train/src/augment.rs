//! Light image augmentation: random shifts of a pixel or two.

use crate::data::InputShape;
use crate::rng::SplitMix64;

/// Shifts an image `[channels, height, width]` by `(dy, dx)` pixels, filling with 0.
pub fn shift(values: &[f32], shape: InputShape, dy: isize, dx: isize) -> Vec<f32> {
    let InputShape::Image {
        channels,
        height,
        width,
    } = shape
    else {
        return values.to_vec();
    };
    let mut out = vec![0.0; values.len()];
    for channel in 0..channels {
        let plane = channel * height * width;
        for y in 0..height {
            let source_y = y as isize - dy;
            if source_y < 0 || source_y >= height as isize {
                continue;
            }
            for x in 0..width {
                let source_x = x as isize - dx;
                if source_x < 0 || source_x >= width as isize {
                    continue;
                }
                out[plane + y * width + x] =
                    values[plane + source_y as usize * width + source_x as usize];
            }
        }
    }
    out
}

/// Shifts each image by a uniform random offset in `-radius..=radius` on both axes
/// (feature vectors pass unchanged).
pub fn random_shift(
    values: &[f32],
    shape: InputShape,
    radius: usize,
    rng: &mut SplitMix64,
) -> Vec<f32> {
    if radius == 0 || !matches!(shape, InputShape::Image { .. }) {
        return values.to_vec();
    }
    let dy = rng.offset(radius);
    let dx = rng.offset(radius);
    shift(values, shape, dy, dx)
}
