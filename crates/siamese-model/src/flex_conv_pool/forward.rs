//! The forward pass, one image at a time (images in parallel): the image's im2col matrix,
//! one matrix product with the weight, then bias, ReLU and max-pooling in one pass that
//! remembers which window position won. Each image's intermediates stay in the cache.

use std::sync::Arc;

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::matrix::{MatrixView, product, tensor, values};
use super::simd::avx2_or_portable;

/// The window position of a pooled output whose maximum is not positive: ReLU zeroes it
/// and no gradient flows back.
pub(super) const NO_WINNER: i32 = -1;

/// What the backward pass needs from the forward pass.
#[derive(Clone, Debug)]
pub(super) struct Saved {
    /// The images `[batch, channels, h, w]` (the backward pass rebuilds each image's
    /// im2col matrix rather than keeping all of them: 29 MB for the default net's second
    /// block at batch 128).
    pub images: FlexTensor,
    /// The weight as `[out, patch]`, columns in `(ky, kx, channel)` order.
    pub weight: Arc<Vec<f32>>,
    /// Per pooled output, channels last (`[batch, h', w', out]`), the window position
    /// (`dy · pool + dx`) that produced it, or [`NO_WINNER`].
    pub winners: Arc<Vec<i32>>,
}

/// images `[batch, channels, h, w]`, weight `[out, channels, k, k]`, bias `[out]` ->
/// `[batch, out, h', w']`, and what the backward pass needs (a handle on the images and
/// the winners the pooling computes anyway: nothing to drop when no gradient is needed).
pub(super) fn conv_relu_max_pool(
    geometry: &ConvGeometry,
    images: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
) -> (FlexTensor, Saved) {
    let image_values = values(images);
    let weight = patch_major_weight(geometry, &values(weight));
    let bias = values(bias);
    let pooled_len = geometry.pooled_len();
    let mut pooled = vec![0.0f32; geometry.batch * pooled_len];
    let mut winners = vec![NO_WINNER; geometry.batch * pooled_len];
    pooled
        .par_chunks_mut(pooled_len)
        .zip(winners.par_chunks_mut(pooled_len))
        .zip(image_values.par_chunks(geometry.image_len()))
        .for_each(|((pooled, winners), image)| {
            let columns = im2col_image(geometry, image);
            let convolved = product(
                MatrixView::new(&columns, geometry.positions(), geometry.patch()),
                MatrixView::new(&weight, geometry.out_channels, geometry.patch()).transposed(),
            );
            pool_image(geometry, &convolved, &bias, pooled, winners);
        });
    let saved = Saved {
        images: images.clone(),
        weight: Arc::new(weight),
        winners: Arc::new(winners),
    };
    (tensor(pooled, geometry.output_shape()), saved)
}

/// weight `[out, channels, k, k]` -> `[out, patch]` with columns `(ky, kx, channel)`.
fn patch_major_weight(geometry: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    let mut permuted = vec![0.0f32; weight.len()];
    for (index, &value) in weight.iter().enumerate() {
        permuted[geometry.patch_major_index(index)] = value;
    }
    permuted
}

/// One image `[channels, h, w]` -> the im2col matrix `[positions, patch]` of the
/// convolution positions some pooling window reads: row `(y, x)`, column `(ky, kx, c)`
/// holds `image[c, y + ky − p, x + kx − p]` (0 in the padding).
pub(super) fn im2col_image(geometry: &ConvGeometry, image: &[f32]) -> Vec<f32> {
    let mut columns = vec![0.0f32; geometry.positions() * geometry.patch()];
    fill_im2col(geometry, image, &mut columns);
    columns
}

avx2_or_portable! {
    /// Writes [`im2col_image`]'s matrix into `columns`, from the image padded
    /// channels-last, where each `ky` of a row is one run of `k · channels` values.
    fn fill_im2col(geometry: &ConvGeometry, image: &[f32], columns: &mut [f32]) {
        let channels = geometry.channels;
        let run = geometry.kernel * channels;
        // [h + 2p, w + 2p, channels], zero on the border.
        let mut padded =
            vec![0.0f32; geometry.padded_height() * geometry.padded_width() * channels];
        let (height, width) = (geometry.height, geometry.width);
        for (channel, plane) in image.chunks_exact(height * width).enumerate() {
            for (y, line) in plane.chunks_exact(width).enumerate() {
                let start = geometry.padded_pixel(channel, y);
                for (x, &value) in line.iter().enumerate() {
                    padded[start + x * channels] = value;
                }
            }
        }
        for (position, row) in columns.chunks_exact_mut(geometry.patch()).enumerate() {
            for (ky, segment) in row.chunks_exact_mut(run).enumerate() {
                let start = geometry.padded_run(position, ky);
                segment.copy_from_slice(&padded[start..start + run]);
            }
        }
    }
}

avx2_or_portable! {
    /// One image's convolution `[positions, out]` (without bias) -> its pooled, activated
    /// output `[out, h', w']` and the winning window position of each entry `[h', w', out]`.
    fn pool_image(
        geometry: &ConvGeometry,
        convolved: &[f32],
        bias: &[f32],
        pooled: &mut [f32],
        winners: &mut [i32],
    ) {
        let out = geometry.out_channels;
        let plane = geometry.pooled_height * geometry.pooled_width;
        let mut best = vec![0.0f32; out];
        for (at, winners) in winners.chunks_exact_mut(out).enumerate() {
            for window in 0..geometry.pool * geometry.pool {
                let row = geometry.window_row(at, window);
                let values = &convolved[row * out..][..out];
                let window = window as i32;
                // Strictly greater: the first position wins ties, as in Burn's pool.
                for (((best, winner), value), bias) in
                    best.iter_mut().zip(winners.iter_mut()).zip(values).zip(bias)
                {
                    let value = value + bias;
                    let greater = window == 0 || value > *best;
                    *best = if greater { value } else { *best };
                    *winner = if greater { window } else { *winner };
                }
            }
            for (channel, (&value, winner)) in best.iter().zip(winners.iter_mut()).enumerate() {
                let positive = value > 0.0;
                pooled[channel * plane + at] = if positive { value } else { 0.0 };
                *winner = if positive { *winner } else { NO_WINNER };
            }
        }
    }
}
