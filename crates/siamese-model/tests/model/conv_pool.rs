//! `conv_activation_max_pool` against Burn's `conv2d`, activation and `max_pool2d`, values
//! and gradients; and the embedder's `product_blocks` setting, which must not change the
//! function. Run per backend by `backend_tests!` in `model.rs`.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use siamese_model::conv_pool::conv_activation_max_pool;
use siamese_model::{Activation, ConvEmbedderConfig, Embedder, EmbedderConfig};

use super::{assert_gradients_close, per_parameter_gradients, relative_error};

/// One block's shape: input `[batch, channels, height, width]`, kernel, padding, pool.
struct Case {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    out_channels: usize,
    kernel: usize,
    padding: usize,
    pool: usize,
    activation: Activation,
    bias: bool,
}

fn cases() -> Vec<Case> {
    let case = |channels, height, width, out_channels, kernel, padding, pool| Case {
        batch: 3,
        channels,
        height,
        width,
        out_channels,
        kernel,
        padding,
        pool,
        activation: Activation::Relu,
        bias: true,
    };
    vec![
        // The default net's two blocks.
        case(1, 28, 28, 8, 3, 1, 2),
        case(8, 14, 14, 16, 3, 1, 2),
        // Odd sizes (rows and columns left over by the pooling), a 5×5 kernel, pool 3.
        Case {
            activation: Activation::Gelu,
            ..case(3, 11, 9, 4, 5, 2, 3)
        },
        // No padding, no pooling, no bias.
        Case {
            bias: false,
            ..case(2, 10, 7, 5, 3, 0, 1)
        },
        // A 1×1 kernel; padding wider than the kernel's reach.
        case(4, 7, 7, 3, 1, 0, 2),
        case(2, 6, 6, 3, 3, 2, 2),
    ]
}

pub(super) fn matches_burn_ops(device: &Device) {
    let device = device.clone().autodiff();
    device.seed(7);
    for case in cases() {
        let name = format!(
            "{}×{}×{} input, {} out, kernel {}, padding {}, pool {}",
            case.channels,
            case.height,
            case.width,
            case.out_channels,
            case.kernel,
            case.padding,
            case.pool
        );
        let conv = Conv2dConfig::new(
            [case.channels, case.out_channels],
            [case.kernel, case.kernel],
        )
        .with_padding(PaddingConfig2d::Explicit(
            case.padding,
            case.padding,
            case.padding,
            case.padding,
        ))
        .with_bias(case.bias)
        .init(&device);
        let images = Tensor::<4>::random(
            [case.batch, case.channels, case.height, case.width],
            Distribution::Normal(0.0, 1.0),
            &device,
        )
        .require_grad();
        let burn_output = {
            let convolved = case.activation.apply(conv.forward(images.clone()));
            if case.pool > 1 {
                MaxPool2dConfig::new([case.pool, case.pool])
                    .init()
                    .forward(convolved)
            } else {
                convolved
            }
        };
        let output = conv_activation_max_pool(
            images.clone(),
            conv.weight.val(),
            conv.bias.as_ref().map(|bias| bias.val()),
            case.padding,
            case.pool,
            case.activation,
        );
        assert_eq!(output.dims(), burn_output.dims(), "{name}: shape");
        let error = relative_error(output.clone(), burn_output.clone());
        assert!(error < 1e-5, "{name}: values differ by {error:e}");

        let upstream = Tensor::<4>::random(output.dims(), Distribution::Normal(0.0, 1.0), &device);
        let burn_grads = (burn_output * upstream.clone()).sum().backward();
        let grads = (output * upstream).sum().backward();
        let gradient = |tensor: &Tensor<4>, grads| {
            tensor
                .grad(grads)
                .unwrap_or_else(|| panic!("{name}: no gradient"))
        };
        let error = relative_error(gradient(&images, &grads), gradient(&images, &burn_grads));
        assert!(error < 1e-4, "{name}: image gradients differ by {error:e}");
        let weight = conv.weight.val();
        let error = relative_error(gradient(&weight, &grads), gradient(&weight, &burn_grads));
        assert!(error < 1e-4, "{name}: weight gradients differ by {error:e}");
        if let Some(bias) = &conv.bias {
            let bias = bias.val();
            let (actual, expected) = (bias.grad(&grads), bias.grad(&burn_grads));
            let (Some(actual), Some(expected)) = (actual, expected) else {
                panic!("{name}: no bias gradient");
            };
            let error = relative_error(actual, expected);
            assert!(error < 1e-4, "{name}: bias gradients differ by {error:e}");
        }
    }
}

/// The default embedder with 0, 1 and 2 product blocks and the same weights: the same
/// embeddings and the same parameter gradients. (Without the flex kernel, which would
/// compute every block on flex whatever `product_blocks` says.)
pub(super) fn product_blocks_keep_the_function(device: &Device) {
    let device = device.clone().autodiff();
    device.seed(11);
    let build = |blocks: usize| {
        ConvEmbedderConfig::new()
            .with_product_blocks(blocks)
            .with_flex_kernel(false)
            .init(&device)
            .unwrap_or_else(|error| panic!("default configuration: {error}"))
    };
    let reference = build(0);
    let images = Tensor::<4>::random([6, 1, 28, 28], Distribution::Default, &device);
    let upstream = Tensor::<2>::random([6, 64], Distribution::Normal(0.0, 1.0), &device);
    let expected = reference.embed(images.clone());
    let expected_gradients =
        per_parameter_gradients(&reference, (expected.clone() * upstream.clone()).sum());
    assert_eq!(
        expected_gradients.len(),
        8,
        "conv 2 × (weight, bias), linear 2 × (weight, bias)"
    );
    for blocks in [1, 2] {
        let embedder = build(blocks).load_record(reference.clone().into_record());
        let embeddings = embedder.embed(images.clone());
        let error = relative_error(embeddings.clone(), expected.clone());
        assert!(
            error < 1e-5,
            "{blocks} product blocks: embeddings differ by {error:e}"
        );
        let gradients = per_parameter_gradients(&embedder, (embeddings * upstream.clone()).sum());
        assert_gradients_close(
            &format!("{blocks} product blocks"),
            &gradients,
            &expected_gradients,
        );
    }
}
