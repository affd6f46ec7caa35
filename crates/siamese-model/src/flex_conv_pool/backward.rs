//! The backward pass, one image at a time (groups of images in parallel): the output
//! gradient routed to the winning window positions, then the image's share of the weight
//! and bias gradients (summed per group, then over groups in order) and, when the input
//! needs one, its gradient through one product with the weight and a col2im.

use burn::backend::flex::FlexTensor;
use burn::tensor::Shape;
use rayon::prelude::*;

use super::forward::{Saved, im2col_image};
use super::geometry::ConvGeometry;
use super::matrix::{MatrixView, add_product, product, tensor, values};
use super::simd::avx2_or_portable;

/// Images per partial sum of the weight and bias gradients (a fixed number, so the order
/// of the sums does not depend on the threads).
const IMAGES_PER_SUM: usize = 8;

/// The gradients of the block's three inputs.
pub(super) struct InputGradients {
    /// `[batch, channels, h, w]`, when asked for.
    pub images: Option<FlexTensor>,
    /// `[out, channels, k, k]`.
    pub weight: FlexTensor,
    /// `[out]`.
    pub bias: FlexTensor,
}

/// The weight (columns `(ky, kx, channel)`) and bias gradients summed over some images.
struct Sums {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Sums {
    fn zero(geometry: &ConvGeometry) -> Self {
        Self {
            weight: vec![0.0; geometry.out_channels * geometry.patch()],
            bias: vec![0.0; geometry.out_channels],
        }
    }

    fn add(mut self, other: Sums) -> Self {
        for (sum, value) in self.weight.iter_mut().zip(&other.weight) {
            *sum += value;
        }
        for (sum, value) in self.bias.iter_mut().zip(&other.bias) {
            *sum += value;
        }
        self
    }
}

/// The gradients given the output's, `[batch, out, h', w']`; the images' only when
/// `with_images`.
pub(super) fn input_gradients(
    geometry: &ConvGeometry,
    saved: &Saved,
    output_gradient: &FlexTensor,
    with_images: bool,
) -> InputGradients {
    let output_gradient = values(output_gradient);
    let images = values(&saved.images);
    let (pooled_len, image_len) = (geometry.pooled_len(), geometry.image_len());
    // One image's contribution; writes its input gradient when given where.
    let image_step = |mut sums: Sums, n: usize, image_gradient: Option<&mut [f32]>| {
        let conv_gradient = route_to_winners(
            geometry,
            &output_gradient[n * pooled_len..][..pooled_len],
            &saved.winners[n * pooled_len..][..pooled_len],
        );
        let conv_gradient =
            MatrixView::new(&conv_gradient, geometry.positions(), geometry.out_channels);
        add_column_sums(&mut sums.bias, conv_gradient);
        let columns = im2col_image(geometry, &images[n * image_len..][..image_len]);
        add_product(
            &mut sums.weight,
            conv_gradient.transposed(),
            MatrixView::new(&columns, geometry.positions(), geometry.patch()),
        );
        if let Some(image_gradient) = image_gradient {
            let weight = MatrixView::new(&saved.weight, geometry.out_channels, geometry.patch());
            col2im_image(geometry, &product(conv_gradient, weight), image_gradient);
        }
        sums
    };
    // Fixed groups of images, each summed in order, the groups' sums added in order: the
    // gradients are bit-identical whatever the thread count and scheduling.
    let groups = geometry.batch.div_ceil(IMAGES_PER_SUM);
    let group_sum = |group: usize, mut image_gradients: Option<&mut [f32]>| {
        let first = group * IMAGES_PER_SUM;
        let images = first..geometry.batch.min(first + IMAGES_PER_SUM);
        images.fold(Sums::zero(geometry), |sums, n| {
            let image_gradient = image_gradients
                .as_deref_mut()
                .map(|gradients| &mut gradients[(n - first) * image_len..][..image_len]);
            image_step(sums, n, image_gradient)
        })
    };
    let (images_gradient, partial_sums): (_, Vec<Sums>) = if with_images {
        let mut gradient = vec![0.0f32; geometry.batch * image_len];
        let partial_sums = gradient
            .par_chunks_mut(IMAGES_PER_SUM * image_len)
            .enumerate()
            .map(|(group, image_gradients)| group_sum(group, Some(image_gradients)))
            .collect();
        (
            Some(tensor(gradient, geometry.images_shape())),
            partial_sums,
        )
    } else {
        let partial_sums = (0..groups)
            .into_par_iter()
            .map(|group| group_sum(group, None))
            .collect();
        (None, partial_sums)
    };
    let sums = partial_sums
        .into_iter()
        .fold(Sums::zero(geometry), Sums::add);
    InputGradients {
        images: images_gradient,
        weight: tensor(
            channel_major(geometry, &sums.weight),
            geometry.weight_shape(),
        ),
        bias: tensor(sums.bias, Shape::new([geometry.out_channels])),
    }
}

/// Adds the column sums of a row-major matrix to `sums`.
fn add_column_sums(sums: &mut [f32], matrix: MatrixView) {
    for row in matrix.rows() {
        for (sum, value) in sums.iter_mut().zip(row) {
            *sum += value;
        }
    }
}

/// `[out, patch]` with columns `(ky, kx, channel)` -> the weight's order `(channel, ky, kx)`.
fn channel_major(geometry: &ConvGeometry, patch_major: &[f32]) -> Vec<f32> {
    (0..patch_major.len())
        .map(|index| patch_major[geometry.patch_major_index(index)])
        .collect()
}

/// One image's output gradient `[out, h', w']` -> its convolution's gradient
/// `[positions, out]`: the output gradient where the position won its window, 0
/// elsewhere.
fn route_to_winners(geometry: &ConvGeometry, pooled: &[f32], winners: &[i32]) -> Vec<f32> {
    let mut gradient = vec![0.0f32; geometry.positions() * geometry.out_channels];
    fill_routed(geometry, pooled, winners, &mut gradient);
    gradient
}

avx2_or_portable! {
    /// Writes [`route_to_winners`]' gradient into `image` (every position belongs to
    /// exactly one window, so every entry is written).
    fn fill_routed(geometry: &ConvGeometry, pooled: &[f32], winners: &[i32], image: &mut [f32]) {
        let out = geometry.out_channels;
        let plane = geometry.pooled_height * geometry.pooled_width;
        let mut gradient = vec![0.0f32; out];
        for (at, winners) in winners.chunks_exact(out).enumerate() {
            for (channel, value) in gradient.iter_mut().enumerate() {
                *value = pooled[channel * plane + at];
            }
            for window in 0..geometry.pool * geometry.pool {
                let row = geometry.window_row(at, window);
                let window = window as i32;
                for ((target, &winner), &value) in
                    image[row * out..][..out].iter_mut().zip(winners).zip(&gradient)
                {
                    *target = if winner == window { value } else { 0.0 };
                }
            }
        }
    }
}

avx2_or_portable! {
    /// One image's im2col gradient `[positions, patch]` -> its gradient `[channels, h, w]`:
    /// each entry summed back onto the pixel it was copied from.
    fn col2im_image(geometry: &ConvGeometry, columns: &[f32], image: &mut [f32]) {
        let channels = geometry.channels;
        let run = geometry.kernel * channels;
        // [h + 2p, w + 2p, channels]
        let mut padded =
            vec![0.0f32; geometry.padded_height() * geometry.padded_width() * channels];
        for (position, row) in columns.chunks_exact(geometry.patch()).enumerate() {
            for (ky, segment) in row.chunks_exact(run).enumerate() {
                let start = geometry.padded_run(position, ky);
                for (sum, value) in padded[start..start + run].iter_mut().zip(segment) {
                    *sum += value;
                }
            }
        }
        // The border dropped, channels first.
        let (height, width) = (geometry.height, geometry.width);
        for (channel, plane) in image.chunks_exact_mut(height * width).enumerate() {
            for (y, line) in plane.chunks_exact_mut(width).enumerate() {
                let start = geometry.padded_pixel(channel, y);
                for (x, value) in line.iter_mut().enumerate() {
                    *value = padded[start + x * channels];
                }
            }
        }
    }
}
