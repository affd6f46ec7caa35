use burn::backend::flex::FlexTensor;
use burn::tensor::Shape;

use crate::conv_block::pooled_size;

/// The sizes of one fused conv block: stride-1 square convolution with zero padding,
/// then non-overlapping `pool × pool` max-pooling that drops the rows and columns which do
/// not fill a window (as Burn's `max_pool2d` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ConvGeometry {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub padding: usize,
    pub pool: usize,
    pub pooled_height: usize,
    pub pooled_width: usize,
}

impl ConvGeometry {
    /// images `[batch, channels, height, width]`, weight `[out, channels, k, k]`.
    ///
    /// # Panics
    ///
    /// When the shapes disagree or give no output (the model validates its configuration
    /// before a tensor reaches the kernel).
    pub fn new(images: &Shape, weight: &Shape, padding: usize, pool: usize) -> Self {
        let [batch, channels, height, width] = four(images, "images");
        let [out_channels, weight_channels, kernel, kernel_width] = four(weight, "weight");
        assert_eq!(
            channels, weight_channels,
            "images have {channels} channels, the weight expects {weight_channels}"
        );
        assert_eq!(kernel, kernel_width, "the kernel must be square");
        assert!(
            (1..=MAX_POOL).contains(&pool),
            "pool must be between 1 and {MAX_POOL}, not {pool}"
        );
        let (Some(pooled_height), Some(pooled_width)) = (
            pooled_size(height, kernel, padding, pool),
            pooled_size(width, kernel, padding, pool),
        ) else {
            panic!(
                "a {height}×{width} input gives no output with kernel {kernel}, padding {padding}, pool {pool}"
            );
        };
        Self {
            batch,
            channels,
            height,
            width,
            out_channels,
            kernel,
            padding,
            pool,
            pooled_height,
            pooled_width,
        }
    }

    /// The geometry of flex tensors: images `[batch, channels, height, width]`, weight
    /// `[out, channels, k, k]`.
    pub fn of(images: &FlexTensor, weight: &FlexTensor, padding: usize, pool: usize) -> Self {
        Self::new(
            images.layout().shape(),
            weight.layout().shape(),
            padding,
            pool,
        )
    }

    /// Rows of the convolution output that some pooling window reads.
    pub fn conv_height(&self) -> usize {
        self.pooled_height * self.pool
    }

    /// Columns of the convolution output that some pooling window reads.
    pub fn conv_width(&self) -> usize {
        self.pooled_width * self.pool
    }

    /// Convolution positions computed per image: one row of the im2col matrix each.
    pub fn positions(&self) -> usize {
        self.conv_height() * self.conv_width()
    }

    /// Height of the zero-padded input.
    pub fn padded_height(&self) -> usize {
        self.height + 2 * self.padding
    }

    /// Width of the zero-padded input.
    pub fn padded_width(&self) -> usize {
        self.width + 2 * self.padding
    }

    /// Columns of the im2col matrix: `k · k · channels`.
    pub fn patch(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// Where pixel `(channel, y, 0)` of the image lies in the image padded channels-last
    /// (`[h + 2p, w + 2p, channels]`); pixel `x` is `x · channels` further.
    pub fn padded_pixel(&self, channel: usize, y: usize) -> usize {
        ((y + self.padding) * self.padded_width() + self.padding) * self.channels + channel
    }

    /// Where kernel row `ky` of im2col row `position` starts in the padded channels-last
    /// image: a run of `k · channels` values.
    pub fn padded_run(&self, position: usize, ky: usize) -> usize {
        let (y, x) = (position / self.conv_width(), position % self.conv_width());
        ((y + ky) * self.padded_width() + x) * self.channels
    }

    /// The convolution position (an im2col row) at window position `window`
    /// (`dy · pool + dx`) of pooled output `at` (`i · w' + j`).
    pub fn window_row(&self, at: usize, window: usize) -> usize {
        let (i, j) = (at / self.pooled_width, at % self.pooled_width);
        let (dy, dx) = (window / self.pool, window % self.pool);
        (i * self.pool + dy) * self.conv_width() + j * self.pool + dx
    }

    /// Where entry `index` of the weight `[out, channels, k, k]` lies in the patch-major
    /// weight `[out, patch]`, whose columns are `(ky, kx, channel)`.
    pub fn patch_major_index(&self, index: usize) -> usize {
        let taps = self.kernel * self.kernel;
        let (filter, within) = (index / self.patch(), index % self.patch());
        let (channel, tap) = (within / taps, within % taps);
        filter * self.patch() + tap * self.channels + channel
    }

    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn pooled_len(&self) -> usize {
        self.out_channels * self.pooled_height * self.pooled_width
    }

    pub fn images_shape(&self) -> Shape {
        Shape::new([self.batch, self.channels, self.height, self.width])
    }

    pub fn weight_shape(&self) -> Shape {
        Shape::new([self.out_channels, self.channels, self.kernel, self.kernel])
    }

    pub fn output_shape(&self) -> Shape {
        Shape::new([
            self.batch,
            self.out_channels,
            self.pooled_height,
            self.pooled_width,
        ])
    }
}

/// Largest pool handled: a window position is kept in a byte, and `NO_WINNER` is 255.
pub(super) const MAX_POOL: usize = 15;

fn four(shape: &Shape, name: &str) -> [usize; 4] {
    match shape.as_slice() {
        &[a, b, c, d] => [a, b, c, d],
        dims => panic!("{name} must have 4 dimensions, not {dims:?}"),
    }
}
