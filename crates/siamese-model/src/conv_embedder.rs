use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::conv_block::{ConvBlock, ConvBlockShape};
use crate::{Activation, Embedder, EmbedderConfig, ModelError};

/// Configuration of a [`ConvEmbedder`]. The defaults are the small MNIST-class net:
/// 1×28×28 input, conv 32 and 64 channels (3×3, padding 1, ReLU, max-pool 2), a hidden
/// layer of 128, a 64-d L2-normalised embedding. For 3×32×32 or 1×105×105 inputs change
/// `in_channels`, `height`, `width`: the flattened size is derived.
#[derive(Config, Debug, PartialEq)]
pub struct ConvEmbedderConfig {
    /// Input channels (1 for grey, 3 for RGB).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Input height in pixels.
    #[config(default = 28)]
    pub height: usize,
    /// Input width in pixels.
    #[config(default = 28)]
    pub width: usize,
    /// Output channels of each conv block, in order.
    #[config(default = "vec![32, 64]")]
    pub channels: Vec<usize>,
    /// Square kernel size of every conv.
    #[config(default = 3)]
    pub kernel_size: usize,
    /// Zero padding on each side of every conv.
    #[config(default = 1)]
    pub padding: usize,
    /// Max-pool window (and stride) after each block; 1 for none.
    #[config(default = 2)]
    pub pool: usize,
    /// Batch normalisation after each conv.
    #[config(default = false)]
    pub batch_norm: bool,
    /// Activation after each conv (and the hidden layer).
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Width of the hidden layer of the head; 0 for none.
    #[config(default = 128)]
    pub hidden: usize,
    /// Embedding size.
    #[config(default = 64)]
    pub embedding_dim: usize,
    /// L2-normalise the embeddings (unit norm).
    #[config(default = true)]
    pub normalize: bool,
    /// How many of the first conv blocks compute conv, activation and pooling as matrix
    /// products ([`conv_activation_max_pool`](crate::conv_pool::conv_activation_max_pool))
    /// rather than with Burn's `conv2d` and `max_pool2d`: the same function, computed
    /// differently. Which is faster to train depends on the backend: on flex, the first
    /// block only (its input, the images, needs no gradient); on ndarray and on software
    /// Vulkan, every block (`docs/benchmarks.md`). Blocks with batch norm always use
    /// Burn's ops.
    #[config(default = 1)]
    pub product_blocks: usize,
    /// On flex, compute every block whose activation is ReLU and which has no batch norm
    /// with siamese's fused CPU kernel for conv, ReLU and max-pool
    /// ([`flex_conv_pool`](crate::flex_conv_pool)), whatever `product_blocks` says: the same
    /// function, with its own backward pass. Other backends ignore it.
    #[config(default = true)]
    pub flex_kernel: bool,
}

impl ConvEmbedderConfig {
    fn block_shapes(&self) -> Vec<ConvBlockShape> {
        let inputs = std::iter::once(self.in_channels).chain(self.channels.iter().copied());
        inputs
            .zip(self.channels.iter().copied())
            .enumerate()
            .map(|(index, (in_channels, out_channels))| ConvBlockShape {
                in_channels,
                out_channels,
                kernel_size: self.kernel_size,
                padding: self.padding,
                pool: self.pool,
                batch_norm: self.batch_norm,
                activation: self.activation,
                as_product: index < self.product_blocks,
                flex_kernel: self.flex_kernel,
            })
            .collect()
    }

    /// Size of the flattened features after the conv blocks, or why there is none.
    pub fn flattened_size(&self) -> Result<usize, ModelError> {
        let invalid = |message: String| Err(ModelError::InvalidConfig(message));
        if self.in_channels == 0 || self.height == 0 || self.width == 0 {
            return invalid(format!(
                "input {}×{}×{} has a zero dimension",
                self.in_channels, self.height, self.width
            ));
        }
        if self.channels.is_empty() {
            return invalid("channels is empty: at least one conv block is needed".into());
        }
        if let Some(block) = self.channels.iter().position(|&c| c == 0) {
            return invalid(format!("conv block {block} has 0 output channels"));
        }
        if self.kernel_size == 0 {
            return invalid("kernel_size is 0".into());
        }
        if self.pool == 0 {
            return invalid("pool is 0 (use 1 for no pooling)".into());
        }
        if self.embedding_dim == 0 {
            return invalid("embedding_dim is 0".into());
        }
        let (mut height, mut width) = (self.height, self.width);
        for (index, block) in self.block_shapes().iter().enumerate() {
            match (block.output_size(height), block.output_size(width)) {
                (Some(h), Some(w)) => (height, width) = (h, w),
                _ => {
                    return invalid(format!(
                        "the input {}×{} shrinks below 1×1 in conv block {index} ({height}×{width} before it, kernel {}, padding {}, pool {})",
                        self.height, self.width, self.kernel_size, self.padding, self.pool
                    ));
                }
            }
        }
        let last_channels = self.channels.last().copied().unwrap_or(0);
        Ok(last_channels * height * width)
    }
}

impl EmbedderConfig for ConvEmbedderConfig {
    type Embedder = ConvEmbedder;

    /// Fields missing from `text` (added after it was saved) take their defaults.
    fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let saved: serde_json::Value = serde_json::from_str(text)?;
        let serde_json::Value::Object(saved) = saved else {
            // Not an object: the error says what it is instead.
            return serde_json::from_value(saved);
        };
        let mut fields = serde_json::to_value(ConvEmbedderConfig::new())?;
        if let Some(defaults) = fields.as_object_mut() {
            defaults.extend(saved);
        }
        serde_json::from_value(fields)
    }

    fn init(&self, device: &Device) -> Result<ConvEmbedder, ModelError> {
        let flattened = self.flattened_size()?;
        let blocks = self
            .block_shapes()
            .iter()
            .map(|block| block.init(device))
            .collect();
        let (hidden, head_input) = if self.hidden > 0 {
            (
                Some(LinearConfig::new(flattened, self.hidden).init(device)),
                self.hidden,
            )
        } else {
            (None, flattened)
        };
        Ok(ConvEmbedder {
            blocks,
            hidden,
            projection: LinearConfig::new(head_input, self.embedding_dim).init(device),
            config: self.clone(),
        })
    }
}

/// Conv blocks, a projection head and optional L2 normalisation:
/// images `[batch, channels, height, width] -> embeddings [batch, dim]`.
#[derive(Module, Debug)]
pub struct ConvEmbedder {
    blocks: Vec<ConvBlock>,
    hidden: Option<Linear>,
    projection: Linear,
    #[module(skip)]
    config: ConvEmbedderConfig,
}

impl Embedder for ConvEmbedder {
    type Input = Tensor<4>;
    type Config = ConvEmbedderConfig;

    fn config(&self) -> &ConvEmbedderConfig {
        &self.config
    }

    fn embedding_dim(&self) -> usize {
        self.config.embedding_dim
    }

    fn input_dims(input: &Tensor<4>) -> Vec<usize> {
        input.dims().to_vec()
    }

    fn check_input(&self, dims: &[usize]) -> Result<(), ModelError> {
        let config = &self.config;
        let fits = matches!(dims, [batch, c, h, w] if *batch > 0 && *c == config.in_channels && *h == config.height && *w == config.width);
        if fits {
            Ok(())
        } else {
            Err(ModelError::Shape {
                expected: format!(
                    "[batch ≥ 1, {}, {}, {}] (images: batch, channels, height, width)",
                    config.in_channels, config.height, config.width
                ),
                actual: dims.to_vec(),
            })
        }
    }

    /// images `[batch, 1, 28, 28]` -> embeddings `[batch, 64]` (default configuration).
    fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        let features = self
            .blocks
            .iter()
            .fold(images, |features, block| block.forward(features)); // [batch, c', h', w']
        let features: Tensor<2> = features.flatten(1, 3); // [batch, c' · h' · w']
        let features = match &self.hidden {
            Some(hidden) => self.config.activation.apply(hidden.forward(features)), // [batch, hidden]
            None => features,
        };
        let embeddings = self.projection.forward(features); // [batch, dim]
        if self.config.normalize {
            siamese_triplet::distances::l2_normalize(embeddings)
        } else {
            embeddings
        }
    }
}
