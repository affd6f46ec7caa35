//! Convolution, activation and max-pooling of one conv block as matrix products.
//!
//! Burn's `conv2d` followed by `max_pool2d` is exact but, on the CPU backends, slow to
//! train through: the weight gradient of a convolution has no kernel of its own there (a
//! generic fallback convolves with the output gradient), ndarray's input gradient (a
//! transposed convolution) takes seconds, and flex's pooling keeps indices for its
//! backward pass. [`conv_activation_max_pool`] computes the same function from matrix
//! products, copies and element-wise operations:
//!
//! 1. `(k + p − 1)²` strided copies of the padded input (`p` = pool size), each
//!    `[batch, channels, h', w']`: the input values under kernel offset `(ky, kx)` of
//!    pooling-window position `(dy, dx)` for every pooled output `(i, j)`;
//! 2. for each of the `p²` window positions, the `k²` copies it needs side by side — the
//!    columns of an im2col restricted to that position, `[batch, k² · channels, h' · w']` —
//!    times the weights `[out, k² · channels]`, plus the bias, through the activation: the
//!    convolution's output at that window position of every pooling window;
//! 3. the element-wise maximum of the `p²` results (first position winning ties, as in
//!    Burn's pooling): `[batch, out, h', w']`.
//!
//! Its weight gradient is a matrix product of the columns with the output gradient.
//! The input gradient scatters the columns' gradient back through the strided copies: on
//! flex each copy's gradient is a zero-filled tensor of the input's size, so there it only
//! pays where the input needs no gradient (the first block, whose input is the images);
//! on ndarray and on software Vulkan it pays in every block.
//! [`ConvEmbedderConfig::product_blocks`](crate::ConvEmbedderConfig::product_blocks)
//! chooses; `docs/benchmarks.md` has the measurements.

use burn::prelude::*;
use burn::tensor::ops::PadMode;
use burn::tensor::s;

use crate::Activation;
use crate::conv_block::pooled_size;

/// Stride-1 convolution (zero padding `padding` on each side, square kernel), then
/// `activation`, then non-overlapping `pool × pool` max-pooling (`pool = 1`: none),
/// dropping the last rows and columns that do not fill a window, like Burn's `max_pool2d`:
/// images `[batch, channels, h, w]`, weight `[out, channels, k, k]`, bias `[out]` ->
/// `[batch, out, (h + 2·padding − k + 1) / pool, (w + 2·padding − k + 1) / pool]`.
///
/// # Panics
///
/// When the weight's channels differ from the images', the kernel is not square, `pool`
/// is 0, or the pooled output would be empty; [`ConvEmbedderConfig`](crate::ConvEmbedderConfig)
/// rejects such configurations before any tensor is built.
pub fn conv_activation_max_pool(
    images: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    padding: usize,
    pool: usize,
    activation: Activation,
) -> Tensor<4> {
    let [batch, channels, height, width] = images.dims();
    let [out_channels, weight_channels, kernel, kernel_width] = weight.dims();
    assert_eq!(
        channels, weight_channels,
        "images have {channels} channels, the weight expects {weight_channels}"
    );
    assert_eq!(kernel, kernel_width, "the kernel must be square");
    assert!(pool > 0, "pool must be at least 1");
    let (Some(pooled_height), Some(pooled_width)) = (
        pooled_size(height, kernel, padding, pool),
        pooled_size(width, kernel, padding, pool),
    ) else {
        panic!(
            "a {height}×{width} input gives no output with kernel {kernel}, padding {padding}, pool {pool}"
        );
    };
    let positions = pooled_height * pooled_width;

    let padded = if padding > 0 {
        images.pad(
            [(padding, padding), (padding, padding)],
            PadMode::Constant(0.0),
        )
    } else {
        images
    };
    // shifted[r][q][b, c, i·w' + j] = padded[b, c, r + pool·i, q + pool·j]
    let reach = kernel + pool - 1;
    let shifted: Vec<Vec<Tensor<3>>> = (0..reach)
        .map(|row| {
            (0..reach)
                .map(|column| {
                    padded
                        .clone()
                        .slice(s![
                            ..,
                            ..,
                            row..row + pool * (pooled_height - 1) + 1;pool,
                            column..column + pool * (pooled_width - 1) + 1;pool
                        ])
                        .reshape([batch, channels, positions])
                })
                .collect()
        })
        .collect();
    // [out, (ky, kx, c)], the order of the columns.
    let weight: Tensor<3> =
        weight
            .permute([0, 2, 3, 1])
            .reshape([1, out_channels, kernel * kernel * channels]);
    let bias = bias.map(|bias| bias.reshape([1, out_channels, 1]));
    // The activated convolution at one window position: [batch, out, positions].
    let window = |index: usize| {
        let (dy, dx) = (index / pool, index % pool);
        let offsets = (0..kernel * kernel)
            .map(|offset| shifted[dy + offset / kernel][dx + offset % kernel].clone())
            .collect();
        let columns: Tensor<3> = Tensor::cat(offsets, 1); // [batch, (ky, kx, c), positions]
        let convolved = weight.clone().matmul(columns);
        let convolved = match &bias {
            Some(bias) => convolved + bias.clone(),
            None => convolved,
        };
        activation.apply(convolved)
    };
    // Separate tensors, not slices of one: a slice's gradient is a zero-filled copy of the
    // whole tensor, which would cost more than the pooling itself.
    let pooled = (1..pool * pool).fold(window(0), |largest, index| maximum(largest, window(index)));
    pooled.reshape([batch, out_channels, pooled_height, pooled_width])
}

/// The element-wise maximum, `first` where it ties, as a product with a 0/1 mask: its
/// value is exact for finite inputs (and non-finite where either input is), and its
/// gradient is two products. (`max_pair` selects through `mask_where`, whose in-place
/// path branches per element on flex: several times slower there.)
fn maximum(first: Tensor<3>, second: Tensor<3>) -> Tensor<3> {
    let first_wins = first.clone().greater_equal(second.clone()).float();
    let second_wins = first_wins.clone().neg() + 1.0;
    first * first_wins + second * second_wins
}
