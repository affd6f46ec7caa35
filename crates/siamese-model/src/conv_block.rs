use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

use crate::Activation;

/// One convolution block: conv, optional batch norm, activation, optional max-pool.
#[derive(Module, Debug)]
pub(crate) struct ConvBlock {
    conv: Conv2d,
    norm: Option<BatchNorm>,
    pool: Option<MaxPool2d>,
    #[module(skip)]
    activation: Activation,
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
}

impl ConvBlockShape {
    /// Spatial size after this block, or `None` when it shrinks below 1.
    pub fn output_size(&self, size: usize) -> Option<usize> {
        let padded = size + 2 * self.padding;
        let convolved = padded.checked_sub(self.kernel_size)? + 1;
        let pooled = if self.pool > 1 {
            convolved / self.pool
        } else {
            convolved
        };
        (pooled >= 1).then_some(pooled)
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
        }
    }
}

impl ConvBlock {
    /// images `[batch, in_channels, h, w]` -> `[batch, out_channels, h', w']`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<4> {
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
