//! The fused flex kernel (`siamese_model::flex_conv_pool`) against Burn's `conv2d`, `relu`
//! and `max_pool2d`, values and the gradients of images, weight and bias; the embedder's
//! `flex_kernel` setting, which must not change the function. Flex only: the kernel exists
//! there alone.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::relu;
use siamese_model::flex_conv_pool::{conv_relu_max_pool, handles, runs_on};
use siamese_model::{ConvEmbedderConfig, Embedder, EmbedderConfig};

use super::{assert_gradients_close, per_parameter_gradients, relative_error};

/// One block's shape: input `[batch, channels, height, width]`, kernel, padding, pool.
#[derive(Clone, Copy, Debug)]
struct Case {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    out_channels: usize,
    kernel: usize,
    padding: usize,
    pool: usize,
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
    };
    vec![
        // The default net's two blocks.
        case(1, 28, 28, 8, 3, 1, 2),
        case(8, 14, 14, 16, 3, 1, 2),
        // Odd sizes (rows and columns left over by the pooling), a 5×5 kernel, pool 3.
        case(3, 11, 9, 4, 5, 2, 3),
        // No padding, no pooling.
        case(2, 10, 7, 5, 3, 0, 1),
        // A 1×1 kernel; padding wider than the kernel's reach; one image.
        case(4, 7, 7, 3, 1, 0, 2),
        Case {
            batch: 1,
            ..case(2, 6, 6, 3, 3, 2, 2)
        },
    ]
}

fn conv(case: Case, device: &Device) -> Conv2d {
    Conv2dConfig::new(
        [case.channels, case.out_channels],
        [case.kernel, case.kernel],
    )
    .with_padding(PaddingConfig2d::Explicit(
        case.padding,
        case.padding,
        case.padding,
        case.padding,
    ))
    .init(device)
}

/// The block computed with Burn's ops.
fn burn_block(conv: &Conv2d, images: Tensor<4>, pool: usize) -> Tensor<4> {
    let activated = relu(conv.forward(images));
    if pool > 1 {
        MaxPool2dConfig::new([pool, pool]).init().forward(activated)
    } else {
        activated
    }
}

fn fused_block(conv: &Conv2d, images: Tensor<4>, case: Case) -> Tensor<4> {
    let bias = conv.bias.as_ref().map(|bias| bias.val());
    let bias = bias.unwrap_or_else(|| panic!("the test convs have a bias"));
    conv_relu_max_pool(images, conv.weight.val(), bias, case.padding, case.pool)
}

/// Values and the gradients of images (when they need one), weight and bias, against
/// Burn's ops, for `images` built by `make_images`.
fn assert_matches(
    name: &str,
    case: Case,
    conv: &Conv2d,
    images: Tensor<4>,
    images_need_gradient: bool,
) {
    let device = images.device();
    let images = if images_need_gradient {
        images.require_grad()
    } else {
        images
    };
    let expected = burn_block(conv, images.clone(), case.pool);
    let output = fused_block(conv, images.clone(), case);
    assert_eq!(output.dims(), expected.dims(), "{name}: shape");
    let error = relative_error(output.clone(), expected.clone());
    assert!(error < 1e-5, "{name}: values differ by {error:e}");

    let upstream = Tensor::<4>::random(output.dims(), Distribution::Normal(0.0, 1.0), &device);
    let expected_grads = (expected * upstream.clone()).sum().backward();
    let grads = (output * upstream).sum().backward();
    if images_need_gradient {
        let (Some(actual), Some(expected)) = (images.grad(&grads), images.grad(&expected_grads))
        else {
            panic!("{name}: no image gradient");
        };
        let error = relative_error(actual, expected);
        assert!(error < 1e-4, "{name}: image gradients differ by {error:e}");
    } else {
        assert!(images.grad(&grads).is_none(), "{name}: image gradient");
    }
    let weight = conv.weight.val();
    let (Some(actual), Some(expected)) = (weight.grad(&grads), weight.grad(&expected_grads)) else {
        panic!("{name}: no weight gradient");
    };
    let error = relative_error(actual, expected);
    assert!(error < 1e-4, "{name}: weight gradients differ by {error:e}");
    let bias = conv.bias.as_ref().map(|bias| bias.val());
    let bias = bias.unwrap_or_else(|| panic!("{name}: the test convs have a bias"));
    let (Some(actual), Some(expected)) = (bias.grad(&grads), bias.grad(&expected_grads)) else {
        panic!("{name}: no bias gradient");
    };
    let error = relative_error(actual, expected);
    assert!(error < 1e-4, "{name}: bias gradients differ by {error:e}");
}

#[test]
fn fused_block_matches_burn_ops() {
    let device = Device::flex().autodiff();
    device.seed(7);
    for case in cases() {
        let conv = conv(case, &device);
        for images_need_gradient in [true, false] {
            let name = format!("{case:?}, image gradient {images_need_gradient}");
            let images = Tensor::<4>::random(
                [case.batch, case.channels, case.height, case.width],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            assert_matches(&name, case, &conv, images, images_need_gradient);
        }
    }
}

/// Equal values in a window (the first position wins, as in Burn's pool) and windows whose
/// maximum is negative (ReLU zeroes them: no gradient) — exact ties, not random values.
#[test]
fn ties_and_dead_windows_match_burn_ops() {
    let device = Device::flex().autodiff();
    let case = Case {
        batch: 2,
        channels: 2,
        height: 8,
        width: 8,
        out_channels: 3,
        kernel: 3,
        padding: 1,
        pool: 2,
    };
    // Constant weights and bias: a constant image gives equal sums away from the border.
    let conv = Conv2dConfig::new([case.channels, case.out_channels], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_initializer(Initializer::Constant { value: 0.125 })
        .init(&device);
    let shape = [case.batch, case.channels, case.height, case.width];
    let constant = Tensor::<4>::ones(shape, &device);
    assert_matches("constant images", case, &conv, constant.clone(), true);
    assert_matches("negative images", case, &conv, constant.neg(), true);
    // Half the images constant and positive, half negative: both kinds in one batch.
    let mixed = Tensor::<4>::ones(shape, &device)
        .mul(Tensor::<1>::from_floats([1.0, -1.0], &device).reshape([2, 1, 1, 1]));
    assert_matches("mixed images", case, &conv, mixed, true);
}

/// Without autodiff (inference) the kernel gives the same values.
#[test]
fn fused_block_runs_without_autodiff() {
    let device = Device::flex();
    device.seed(3);
    for case in cases() {
        let conv = conv(case, &device);
        let images = Tensor::<4>::random(
            [case.batch, case.channels, case.height, case.width],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let expected = burn_block(&conv, images.clone(), case.pool);
        let error = relative_error(fused_block(&conv, images, case), expected);
        assert!(error < 1e-5, "{case:?}: values differ by {error:e}");
    }
}

/// The gradients are bit-identical whatever the number of threads (the weight and bias
/// gradients are summed over fixed groups of images, in order): a seeded run reproduces.
#[test]
fn gradients_do_not_depend_on_the_threads() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let case = Case {
        batch: 37,
        ..cases()[1]
    };
    let conv = conv(case, &device);
    let images = Tensor::<4>::random(
        [case.batch, case.channels, case.height, case.width],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let upstream = Tensor::<4>::random(
        [case.batch, case.out_channels, 7, 7],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let gradients = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|error| panic!("a pool of {threads} threads: {error}"));
        pool.install(|| {
            let images = images.clone().require_grad();
            let output = fused_block(&conv, images.clone(), case);
            let grads = (output * upstream.clone()).sum().backward();
            let data = |tensor: Option<Tensor<4>>| {
                tensor.unwrap_or_else(|| panic!("no gradient")).into_data()
            };
            let bias = conv.bias.as_ref().map(|bias| bias.val());
            let bias = bias.unwrap_or_else(|| panic!("the test convs have a bias"));
            (
                data(images.grad(&grads)),
                data(conv.weight.val().grad(&grads)),
                bias.grad(&grads)
                    .unwrap_or_else(|| panic!("no bias gradient"))
                    .into_data(),
            )
        })
    };
    let (one, three) = (gradients(1), gradients(3));
    assert_eq!(one.0, three.0, "image gradients");
    assert_eq!(one.1, three.1, "weight gradients");
    assert_eq!(one.2, three.2, "bias gradients");
}

#[test]
fn the_kernel_says_where_it_runs() {
    let images = |device: &Device| Tensor::<4>::zeros([1, 1, 4, 4], device);
    assert!(runs_on(&Device::flex()) && runs_on(&Device::flex().autodiff()));
    assert!(handles(&images(&Device::flex()), 2));
    assert!(!handles(&images(&Device::flex()), 16), "pools above 15");
    assert!(!handles(&images(&Device::flex()), 0));
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)] // `Device::ndarray`: the backend the design names, still tested.
    {
        assert!(!runs_on(&Device::ndarray()) && !runs_on(&Device::ndarray().autodiff()));
        assert!(!handles(&images(&Device::ndarray()), 2));
    }
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)] // `Device::ndarray`: the backend the design names, still tested.
#[test]
#[should_panic(expected = "the fused conv block takes f32 images on flex")]
fn the_kernel_refuses_other_backends() {
    let device = Device::ndarray();
    let _ = conv_relu_max_pool(
        Tensor::zeros([1, 1, 4, 4], &device),
        Tensor::zeros([2, 1, 3, 3], &device),
        Tensor::zeros([2], &device),
        1,
        2,
    );
}

/// The default embedder with and without the kernel, the same weights: the same
/// embeddings and the same parameter gradients.
#[test]
fn flex_kernel_keeps_the_function() {
    let device = Device::flex().autodiff();
    device.seed(11);
    let build = |flex_kernel: bool| {
        ConvEmbedderConfig::new()
            .with_flex_kernel(flex_kernel)
            .init(&device)
            .unwrap_or_else(|error| panic!("default configuration: {error}"))
    };
    let reference = build(false);
    let embedder = build(true).load_record(reference.clone().into_record());
    let images = Tensor::<4>::random([6, 1, 28, 28], Distribution::Default, &device);
    let upstream = Tensor::<2>::random([6, 64], Distribution::Normal(0.0, 1.0), &device);
    let expected = reference.embed(images.clone());
    let embeddings = embedder.embed(images);
    let error = relative_error(embeddings.clone(), expected.clone());
    assert!(error < 1e-5, "embeddings differ by {error:e}");
    let expected_gradients =
        per_parameter_gradients(&reference, (expected * upstream.clone()).sum());
    let gradients = per_parameter_gradients(&embedder, (embeddings * upstream).sum());
    assert_eq!(
        gradients.len(),
        8,
        "conv 2 × (weight, bias), linear 2 × (weight, bias)"
    );
    assert_gradients_close("flex kernel", &gradients, &expected_gradients);
}
