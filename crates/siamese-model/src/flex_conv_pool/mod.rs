//! A fused CPU kernel for one conv block on flex: stride-1 convolution, bias, ReLU and
//! non-overlapping max-pooling, with its own backward pass.
//!
//! Burn's `conv2d` → `relu` → `max_pool2d` on flex computes the convolution's weight
//! gradient through a generic fallback (a convolution whose kernel is the output
//! gradient), its input gradient as a transposed convolution, and pools through its
//! with-indices code; together several times the cost of the three matrix products the
//! block needs. This kernel does what PyTorch's CPU path does, one image at a time (the
//! images in parallel, so each image's intermediates stay in the cache):
//!
//! - forward: the image's im2col matrix `[positions, k² · channels]` of the convolution
//!   positions some pooling window reads, one product with the weight, then bias, ReLU and
//!   the maximum of each window in one pass that keeps the winning position;
//! - backward: the output gradient placed at the winners (`[positions, out]`), the
//!   image's share of the weight gradient as one product with its rebuilt im2col matrix
//!   and of the bias gradient as column sums (summed over fixed groups of images, in
//!   order: the result does not depend on the threads), and — only when the input needs
//!   one — the input gradient as one product with the weight and a col2im.
//!
//! Only the input and one winner index per output are kept for the backward pass.
//!
//! It is a Burn backend extension ([`ConvReluPoolBackend`]) implemented for `Flex` and
//! `Autodiff<Flex>` only; [`conv_relu_max_pool`] is the tensor-level entry and
//! [`runs_on`] says whether a device can use it. Values and gradients are checked against
//! Burn's ops in `tests/model/flex_conv_pool.rs`.

mod backward;
mod forward;
mod geometry;
mod matrix;
mod simd;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::prelude::*;

use geometry::{ConvGeometry, MAX_POOL};

/// The fused conv block as a backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait ConvReluPoolBackend: burn::backend::Backend {
    /// images `[batch, channels, h, w]`, weight `[out, channels, k, k]`, bias `[out]` ->
    /// `max_pool(relu(conv(images, weight, padding) + bias), pool)`:
    /// `[batch, out, (h + 2·padding − k + 1) / pool, (w + 2·padding − k + 1) / pool]`.
    fn conv_relu_max_pool(
        images: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: usize,
        pool: usize,
    ) -> FloatTensor<Self>;
}

/// Whether [`conv_relu_max_pool`] can run on `device` (flex, with or without autodiff).
pub fn runs_on(device: &Device) -> bool {
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(device) => {
            matches!(device.clone().inner(), DispatchDevice::Flex(_))
        }
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Whether [`conv_relu_max_pool`] takes these images and pool: `f32` on flex, a pool of
/// at most 15 (a window position is kept in a byte).
pub fn handles(images: &Tensor<4>, pool: usize) -> bool {
    runs_on(&images.device())
        && images.dtype() == burn::tensor::DType::F32
        && (1..=MAX_POOL).contains(&pool)
}

/// Stride-1 convolution (zero padding `padding` on each side, square kernel), bias, ReLU,
/// then non-overlapping `pool × pool` max-pooling that drops the rows and columns which do
/// not fill a window: images `[batch, channels, h, w]`, weight `[out, channels, k, k]`,
/// bias `[out]` -> `[batch, out, (h + 2·padding − k + 1) / pool, (w + 2·padding − k + 1) / pool]`.
/// The same function as Burn's `conv2d`, `relu` and `max_pool2d` (ties in a window go to
/// the first position), with gradients for all three inputs.
///
/// # Panics
///
/// Unless it [`handles`] the images and pool; when the shapes disagree or give an empty
/// output.
pub fn conv_relu_max_pool(
    images: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    padding: usize,
    pool: usize,
) -> Tensor<4> {
    assert!(
        handles(&images, pool),
        "the fused conv block takes f32 images on flex and a pool of 1 to {MAX_POOL}, not {:?} images on {:?} and a pool of {pool}",
        images.dtype(),
        images.device()
    );
    Tensor::from_dispatch(<Dispatch as ConvReluPoolBackend>::conv_relu_max_pool(
        images.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        padding,
        pool,
    ))
}

impl ConvReluPoolBackend for Flex {
    fn conv_relu_max_pool(
        images: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: usize,
        pool: usize,
    ) -> FloatTensor<Self> {
        let geometry = ConvGeometry::of(&images, &weight, padding, pool);
        forward::conv_relu_max_pool(&geometry, &images, &weight, &bias).0
    }
}

impl<C: CheckpointStrategy> ConvReluPoolBackend for Autodiff<Flex, C> {
    fn conv_relu_max_pool(
        images: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: usize,
        pool: usize,
    ) -> FloatTensor<Self> {
        let geometry = ConvGeometry::of(images.primitive(), weight.primitive(), padding, pool);
        let (output, saved) = forward::conv_relu_max_pool(
            &geometry,
            images.primitive(),
            weight.primitive(),
            bias.primitive(),
        );
        match ConvReluPoolBackward
            .prepare::<C>([images.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(BackwardState { geometry, saved }, output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

#[derive(Debug)]
struct ConvReluPoolBackward;

#[derive(Clone, Debug)]
struct BackwardState {
    geometry: ConvGeometry,
    saved: forward::Saved,
}

impl Backward<Flex, 3> for ConvReluPoolBackward {
    type State = BackwardState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [images_node, weight_node, bias_node] = ops.parents;
        let output_gradient = grads.consume::<Flex>(&ops.node);
        let state = ops.state;
        let geometry = &state.geometry;
        let gradients = backward::input_gradients(
            geometry,
            &state.saved,
            &output_gradient,
            images_node.is_some(),
        );
        if let (Some(node), Some(gradient)) = (images_node, gradients.images) {
            grads.register::<Flex>(node.id, gradient);
        }
        if let Some(node) = weight_node {
            grads.register::<Flex>(node.id, gradients.weight);
        }
        if let Some(node) = bias_node {
            grads.register::<Flex>(node.id, gradients.bias);
        }
    }
}
