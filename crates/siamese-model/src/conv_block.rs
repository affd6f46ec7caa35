use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

use crate::Activation;
use crate::conv_pool::conv_activation_max_pool;

/// One convolution block: conv, optional batch norm, activation, optional max-pool.
#[derive(Module, Debug)]
pub(crate) struct ConvBlock {
    conv: Conv2d,
    norm: Option<BatchNorm>,
    pool: Option<MaxPool2d>,
    #[module(skip)]
    activation: Activation,
    /// Computes conv, activation and pool as matrix products
    /// ([`conv_activation_max_pool`]) instead of Burn's conv and pool ops: the same
    /// function. Never with batch norm, which sits between the conv and the activation.
    #[module(skip)]
    as_product: bool,
    /// On flex, computes conv, ReLU and pool with the fused kernel
    /// ([`crate::flex_conv_pool`]). Only with ReLU and without batch norm.
    #[module(skip)]
    flex_kernel: bool,
}

/// The size (height or width) after a stride-1 convolution with `padding` on each side and
/// a non-overlapping `pool` max-pool that drops what does not fill a window (`pool` 0 or 1:
/// none), or `None` when it shrinks below 1.
pub(crate) fn pooled_size(
    size: usize,
    kernel: usize,
    padding: usize,
    pool: usize,
) -> Option<usize> {
    let convolved = (size + 2 * padding).checked_sub(kernel)? + 1;
    let pooled = convolved / pool.max(1);
    (pooled >= 1).then_some(pooled)
}

/// The numbers that define one block.
pub(crate) struct ConvBlockShape {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel_size: usize,
    pub padding: usize,
    pub pool: usize,
    pub batch_norm: bool,
    pub activation: Activation,
    /// Use [`conv_activation_max_pool`] (only without batch norm, which sits between the
    /// conv and the activation).
    pub as_product: bool,
    /// Use the fused flex kernel on flex (only with ReLU, without batch norm).
    pub flex_kernel: bool,
}

impl ConvBlockShape {
    /// Spatial size after this block, or `None` when it shrinks below 1.
    pub fn output_size(&self, size: usize) -> Option<usize> {
        pooled_size(size, self.kernel_size, self.padding, self.pool)
    }

    pub fn init(&self, device: &Device) -> ConvBlock {
        let padding = self.padding;
        ConvBlock {
            conv: Conv2dConfig::new(
                [self.in_channels, self.out_channels],
                [self.kernel_size, self.kernel_size],
            )
            .with_padding(PaddingConfig2d::Explicit(
                padding, padding, padding, padding,
            ))
            .init(device),
            norm: self
                .batch_norm
                .then(|| BatchNormConfig::new(self.out_channels).init(device)),
            pool: (self.pool > 1).then(|| MaxPool2dConfig::new([self.pool, self.pool]).init()),
            activation: self.activation,
            as_product: self.as_product && !self.batch_norm,
            flex_kernel: self.flex_kernel
                && !self.batch_norm
                && self.activation == Activation::Relu,
        }
    }
}

impl ConvBlock {
    /// images `[batch, in_channels, h, w]` -> `[batch, out_channels, h', w']`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<4> {
        // `init` pads every side alike (`Explicit`); no pool is a pool of 1.
        let padding = match self.conv.padding {
            PaddingConfig2d::Explicit(top, ..) => top,
            PaddingConfig2d::Same => self.conv.kernel_size[0] / 2,
            PaddingConfig2d::Valid => 0,
        };
        let pool = self.pool.as_ref().map_or(1, |pool| pool.kernel_size[0]);
        #[cfg(feature = "flex")]
        if self.flex_kernel && crate::flex_conv_pool::handles(&images, pool) {
            let weight = self.conv.weight.val();
            let bias = match &self.conv.bias {
                Some(bias) => bias.val(),
                None => Tensor::zeros([weight.dims()[0]], &weight.device()),
            };
            return crate::flex_conv_pool::conv_relu_max_pool(images, weight, bias, padding, pool);
        }
        if self.as_product {
            return conv_activation_max_pool(
                images,
                self.conv.weight.val(),
                self.conv.bias.as_ref().map(|bias| bias.val()),
                padding,
                pool,
                self.activation,
            );
        }
        let features = self.conv.forward(images);
        let features = match &self.norm {
            Some(norm) => norm.forward(features),
            None => features,
        };
        let features = self.activation.apply(features);
        match &self.pool {
            Some(pool) => pool.forward(features),
            None => features,
        }
    }
}
