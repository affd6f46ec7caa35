//! Embedders, conv blocks as matrix products and the Siamese wrapper on every compiled
//! backend (the backend is the first part of each test's name).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use siamese_model::{
    Activation, ConvEmbedder, ConvEmbedderConfig, Embedder, EmbedderConfig, MlpEmbedderConfig,
    ModelError, Siamese,
};
use siamese_triplet::distances::{Euclidean, SquaredEuclidean};
use siamese_triplet::losses::TripletMarginLoss;
use siamese_triplet::miners::{BatchHardMiner, Miner};
use siamese_triplet::reducers::Reducer;

#[cfg(feature = "wgpu")]
#[path = "../../siamese-triplet/tests/common/wgpu.rs"]
mod wgpu_device;

fn random_images(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Default, device)
}

/// A small conv net for fast tests: 1×12×12, one block of 4 channels, 16-d embedding.
fn small_config() -> ConvEmbedderConfig {
    ConvEmbedderConfig::new()
        .with_height(12)
        .with_width(12)
        .with_channels(vec![4])
        .with_hidden(16)
        .with_embedding_dim(8)
}

fn read(tensor: Tensor<2>) -> Vec<f32> {
    tensor.try_into_vec_as::<f32>().expect("read tensor")
}

/// Every parameter's gradient, one vector per parameter (empty without a gradient), in
/// visiting order.
struct GradientCollector<'a> {
    grads: &'a burn::tensor::Gradients,
    gradients: Vec<Vec<f32>>,
}

impl ModuleVisitor for GradientCollector<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let gradient = param
            .val()
            .grad(self.grads)
            .map(|grad| grad.try_into_vec_as::<f32>().expect("read gradient"))
            .unwrap_or_default();
        self.gradients.push(gradient);
    }
}

/// The gradient of `loss` for each parameter of `model`, in visiting order.
fn per_parameter_gradients<M: Module>(model: &M, loss: Tensor<1>) -> Vec<Vec<f32>> {
    let grads = loss.backward();
    let mut collector = GradientCollector {
        grads: &grads,
        gradients: Vec::new(),
    };
    model.visit(&mut collector);
    collector.gradients
}

/// Every parameter's gradient of `loss`, flattened, in visiting order.
fn parameter_gradients<M: Module>(model: &M, loss: Tensor<1>) -> Vec<f32> {
    per_parameter_gradients(model, loss).concat()
}

/// Largest absolute difference, relative to the largest magnitude of `expected` (at least 1).
fn relative_error<const D: usize>(actual: Tensor<D>, expected: Tensor<D>) -> f32 {
    let scale = expected.clone().abs().max().into_scalar::<f32>().max(1.0);
    (actual - expected).abs().max().into_scalar::<f32>() / scale
}

/// Each parameter's gradient (as [`per_parameter_gradients`] lists them) within 1e-4 of the
/// expected one, relative to its largest magnitude (at least 1); `what` names the run.
fn assert_gradients_close(what: &str, actual: &[Vec<f32>], expected: &[Vec<f32>]) {
    for (index, (actual, expected)) in actual.iter().zip(expected).enumerate() {
        assert!(!expected.is_empty(), "parameter {index} has a gradient");
        assert_eq!(actual.len(), expected.len(), "parameter {index}");
        let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let error = actual
            .iter()
            .zip(expected)
            .fold(0.0f32, |m, (a, e)| m.max((a - e).abs()))
            / scale;
        assert!(
            error < 1e-4,
            "{what}: gradients of parameter {index} differ by {error:e}"
        );
    }
}

/// `conv_activation_max_pool` and `ConvEmbedderConfig::product_blocks`.
#[path = "model/conv_pool.rs"]
mod conv_pool;

/// The fused flex kernel and `ConvEmbedderConfig::flex_kernel`.
#[cfg(feature = "flex")]
#[path = "model/flex_conv_pool.rs"]
mod flex_conv_pool;

fn output_shapes_fit_configurations(device: &Device) {
    let cases = [
        (ConvEmbedderConfig::new(), [3, 1, 28, 28], 64),
        (
            ConvEmbedderConfig::new()
                .with_in_channels(3)
                .with_height(32)
                .with_width(32)
                .with_channels(vec![16, 32, 64])
                .with_batch_norm(true)
                .with_activation(Activation::Gelu)
                .with_embedding_dim(32),
            [2, 3, 32, 32],
            32,
        ),
        (
            ConvEmbedderConfig::new()
                .with_height(105)
                .with_width(105)
                .with_channels(vec![8, 8, 8]),
            [2, 1, 105, 105],
            64,
        ),
        (
            ConvEmbedderConfig::new()
                .with_hidden(0)
                .with_normalize(false),
            [5, 1, 28, 28],
            64,
        ),
    ];
    for (config, shape, dim) in cases {
        let embedder = config.init(device).expect("valid configuration");
        let embeddings = embedder
            .try_embed(random_images(shape, device))
            .expect("fitting input");
        assert_eq!(embeddings.dims(), [shape[0], dim], "{config:?}");
        assert_eq!(embedder.embedding_dim(), dim);
    }
    for hidden in [vec![], vec![32], vec![64, 32, 16]] {
        let embedder = MlpEmbedderConfig::new(20)
            .with_hidden(hidden.clone())
            .with_embedding_dim(12)
            .init(device)
            .expect("valid");
        let features = Tensor::<2>::random([7, 20], Distribution::Default, device);
        assert_eq!(
            embedder.try_embed(features).expect("fits").dims(),
            [7, 12],
            "hidden {hidden:?}"
        );
    }
}

fn normalized_outputs_have_unit_norm(device: &Device) {
    let embedder = ConvEmbedderConfig::new().init(device).expect("valid");
    let norms = read(
        embedder
            .embed(random_images([6, 1, 28, 28], device))
            .square()
            .sum_dim(1)
            .sqrt(),
    );
    assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), "{norms:?}");
    let mlp = MlpEmbedderConfig::new(10).init(device).expect("valid");
    let norms = read(
        mlp.embed(Tensor::random([6, 10], Distribution::Default, device))
            .square()
            .sum_dim(1)
            .sqrt(),
    );
    assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), "{norms:?}");
}

fn one_set_of_weights(device: &Device) {
    let device = device.clone().autodiff();
    let model = Siamese::new(small_config().init(&device).expect("valid"));
    let left = random_images([4, 1, 12, 12], &device);
    let right = random_images([4, 1, 12, 12], &device);
    let loss = |detach_left: bool, detach_right: bool| {
        let (mut a, mut b) = model.embed_pair(left.clone(), right.clone()).expect("fits");
        if detach_left {
            a = a.detach();
        }
        if detach_right {
            b = b.detach();
        }
        SquaredEuclidean::new().paired(a, b).sum()
    };
    use siamese_triplet::distances::Distance;
    let both = parameter_gradients(&model, loss(false, false));
    let through_left = parameter_gradients(&model, loss(false, true));
    let through_right = parameter_gradients(&model, loss(true, false));
    assert_eq!(both.len(), through_left.len());
    assert!(!both.is_empty());
    for ((b, l), r) in both.iter().zip(&through_left).zip(&through_right) {
        assert!(
            (b - (l + r)).abs() <= 1e-5 * (1.0 + b.abs()),
            "{b} != {l} + {r}"
        );
    }
    // The record holds the embedder's parameters once: the Siamese wrapper adds none.
    let siamese_tensors = model.clone().into_record().len();
    let embedder_tensors = model.embedder.clone().into_record().len();
    assert_eq!(siamese_tensors, embedder_tensors);
    assert_eq!(
        embedder_tensors, 6,
        "conv w, b; hidden w, b; projection w, b"
    );
}

fn record_round_trip_is_bit_identical(device: &Device) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let model = Siamese::new(ConvEmbedderConfig::new().init(device).expect("valid"));
    model.save_dir(directory.path()).expect("saved");
    let loaded = Siamese::<ConvEmbedder>::load_dir(directory.path(), device).expect("loaded");
    assert_eq!(loaded.embedder.config(), model.embedder.config());
    let images = random_images([5, 1, 28, 28], device);
    let before = read(model.embed(images.clone()));
    let after = read(loaded.embed(images));
    assert!(
        before
            .iter()
            .zip(&after)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

/// A model directory saved before a configuration field existed (here `flex_kernel`, and
/// `product_blocks` before it) loads with the field's default; a configuration that is not
/// a JSON object still fails, naming the file.
fn older_model_directories_load(device: &Device) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let model = Siamese::new(
        ConvEmbedderConfig::new()
            .with_channels(vec![8, 16])
            .init(device)
            .expect("valid"),
    );
    model.save_dir(directory.path()).expect("saved");
    let config_path = directory.path().join(siamese_model::CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path).expect("read");
    let mut fields: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let object = fields.as_object_mut().expect("an object");
    for newer in ["flex_kernel", "product_blocks"] {
        assert!(object.remove(newer).is_some(), "{newer} is saved:\n{text}");
    }
    let older = fields.to_string();
    std::fs::write(&config_path, &older).expect("written");
    let loaded = Siamese::<ConvEmbedder>::load_dir(directory.path(), device)
        .unwrap_or_else(|error| panic!("{error}\n{older}"));
    assert_eq!(loaded.embedder.config(), model.embedder.config());

    std::fs::write(&config_path, "[1, 2]").expect("written");
    let error = Siamese::<ConvEmbedder>::load_dir(directory.path(), device)
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("unreadable model configuration")
            && error.contains(siamese_model::CONFIG_FILE),
        "{error}"
    );
}

fn record_loads_on_the_other_backend(from: &Device, to: &Device) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let model = Siamese::new(
        ConvEmbedderConfig::new()
            .with_batch_norm(true)
            .init(from)
            .expect("valid"),
    );
    model.save_dir(directory.path()).expect("saved");
    let loaded = Siamese::<ConvEmbedder>::load_dir(directory.path(), to).expect("loaded");
    let data = random_images([4, 1, 28, 28], from).into_data();
    let before = read(model.embed(Tensor::from_data(data.clone(), from)));
    let after = read(loaded.embed(Tensor::from_data(data, to)));
    for (a, b) in before.iter().zip(&after) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

fn bad_shapes_return_errors(device: &Device) {
    let embedder = ConvEmbedderConfig::new().init(device).expect("valid");
    for shape in [[2, 3, 28, 28], [2, 1, 32, 32], [2, 1, 28, 27]] {
        let error = embedder
            .try_embed(random_images(shape, device))
            .expect_err("does not fit");
        let message = error.to_string();
        assert!(matches!(error, ModelError::Shape { .. }), "{message}");
        assert!(
            message.contains(&format!("{shape:?}")),
            "names the actual shape: {message}"
        );
        assert!(
            message.contains("1, 28, 28"),
            "names the expected shape: {message}"
        );
    }
    assert!(
        embedder.check_input(&[1, 28, 28]).is_err(),
        "rank 3 is rejected"
    );
    let mlp = MlpEmbedderConfig::new(10).init(device).expect("valid");
    let error = mlp
        .try_embed(Tensor::zeros([3, 11], device))
        .expect_err("11 features");
    assert!(
        error.to_string().contains("[3, 11]") && error.to_string().contains("10"),
        "{error}"
    );
    let model = Siamese::new(mlp);
    let error = model
        .pair_distance(
            Tensor::zeros([3, 10], device),
            Tensor::zeros([2, 10], device),
            &Euclidean::new(),
        )
        .expect_err("unequal batches");
    assert!(error.to_string().contains('3'), "{error}");
}

fn bad_configurations_are_rejected(device: &Device) {
    let conv_cases = [
        (
            ConvEmbedderConfig::new().with_channels(vec![32, 0]),
            "0 output channels",
        ),
        (
            ConvEmbedderConfig::new().with_channels(vec![]),
            "channels is empty",
        ),
        (
            ConvEmbedderConfig::new().with_in_channels(0),
            "zero dimension",
        ),
        (
            ConvEmbedderConfig::new()
                .with_height(4)
                .with_width(4)
                .with_channels(vec![8, 8, 8]),
            "below 1×1",
        ),
        (
            ConvEmbedderConfig::new()
                .with_padding(0)
                .with_kernel_size(30),
            "below 1×1",
        ),
        (
            ConvEmbedderConfig::new().with_embedding_dim(0),
            "embedding_dim is 0",
        ),
        (ConvEmbedderConfig::new().with_pool(0), "pool is 0"),
    ];
    for (config, expected) in conv_cases {
        let error = config.init(device).expect_err("invalid");
        assert!(
            error.to_string().contains(expected),
            "{error} should say {expected}"
        );
    }
    let mlp_cases = [
        (MlpEmbedderConfig::new(0), "in_features is 0"),
        (
            MlpEmbedderConfig::new(4).with_hidden(vec![8, 0]),
            "hidden layer 1 has width 0",
        ),
        (MlpEmbedderConfig::new(4).with_dropout(1.5), "dropout"),
        (
            MlpEmbedderConfig::new(4).with_embedding_dim(0),
            "embedding_dim is 0",
        ),
    ];
    for (config, expected) in mlp_cases {
        let error = config.init(device).expect_err("invalid");
        assert!(
            error.to_string().contains(expected),
            "{error} should say {expected}"
        );
    }
}

fn model_directories_fail_clearly(device: &Device) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let error = Siamese::<ConvEmbedder>::load_dir(&directory.path().join("missing"), device)
        .expect_err("missing");
    assert!(
        error.to_string().contains("not a model directory"),
        "{error}"
    );

    let model = Siamese::new(small_config().init(device).expect("valid"));
    model.save_dir(directory.path()).expect("saved");
    // Weights from another configuration.
    let other = directory.path().join("other");
    Siamese::new(ConvEmbedderConfig::new().init(device).expect("valid"))
        .save_dir(&other)
        .expect("saved");
    std::fs::copy(
        other.join(siamese_model::WEIGHTS_FILE),
        directory.path().join(siamese_model::WEIGHTS_FILE),
    )
    .expect("copy");
    let error = Siamese::<ConvEmbedder>::load_dir(directory.path(), device)
        .expect_err("mismatched weights");
    assert!(
        error.to_string().contains(siamese_model::WEIGHTS_FILE),
        "{error}"
    );
    // Truncated weights.
    let weights = directory.path().join(siamese_model::WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).expect("read");
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).expect("truncate");
    let error = Siamese::<ConvEmbedder>::load_dir(directory.path(), device).expect_err("truncated");
    assert!(
        error.to_string().contains(siamese_model::WEIGHTS_FILE),
        "{error}"
    );
    // A broken configuration file.
    std::fs::write(
        directory.path().join(siamese_model::CONFIG_FILE),
        "{\"height\": \"tall\"}",
    )
    .expect("write");
    let error =
        Siamese::<ConvEmbedder>::load_dir(directory.path(), device).expect_err("bad config");
    assert!(
        error.to_string().contains(siamese_model::CONFIG_FILE),
        "{error}"
    );
}

fn configs_round_trip_as_json(_device: &Device) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("conv.json");
    let config = ConvEmbedderConfig::new()
        .with_channels(vec![8, 16])
        .with_activation(Activation::Gelu);
    burn::config::Config::save(&config, &path).expect("saved");
    let loaded = <ConvEmbedderConfig as burn::config::Config>::load(&path).expect("loaded");
    assert_eq!(loaded, config);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("\"gelu\""), "{text}");
}

/// Four classes of 12×12 images (a bright quadrant each) with noise.
fn synthetic_batch(device: &Device, seed: u64) -> (Tensor<4>, Tensor<1, Int>) {
    let mut state = seed;
    let mut noise = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 * 0.6
    };
    let (classes, per_class) = (4, 4);
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for class in 0..classes {
        for _ in 0..per_class {
            for y in 0..12 {
                for x in 0..12 {
                    let quadrant = (y / 6) * 2 + x / 6;
                    pixels.push(if quadrant == class { 1.0 } else { 0.0 } + noise());
                }
            }
            labels.push(class as i64);
        }
    }
    let n = classes * per_class;
    (
        Tensor::from_data(TensorData::new(pixels, [n, 1, 12, 12]), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

fn training_steps_lower_the_triplet_loss(device: &Device) {
    let device = device.clone().autodiff();
    device.seed(7);
    let mut model = Siamese::new(small_config().init(&device).expect("valid"));
    let mut optimizer = AdamConfig::new().init();
    let (images, labels) = synthetic_batch(&device, 11);
    let loss_of = |model: &Siamese<ConvEmbedder>| {
        let embeddings = model.embed(images.clone());
        let triplets =
            BatchHardMiner::new(Euclidean::new()).mine(embeddings.clone(), labels.clone());
        TripletMarginLoss::new(0.5, Euclidean::new())
            .with_reducer(Reducer::Mean)
            .forward(embeddings, &triplets)
    };
    let first = loss_of(&model).into_scalar::<f32>();
    for _ in 0..15 {
        let loss = loss_of(&model);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-2, model, grads);
    }
    let last = loss_of(&model).into_scalar::<f32>();
    assert!(last < 0.5 * first, "loss {first} -> {last}");
}

macro_rules! backend_tests {
    ($backend:ident, $device:expr, $other:expr) => {
        mod $backend {
            use super::*;

            fn device() -> Option<Device> {
                #[allow(deprecated)]
                $device
            }

            #[test]
            fn output_shapes_fit_configurations() {
                if let Some(device) = device() {
                    super::output_shapes_fit_configurations(&device);
                }
            }

            #[test]
            fn normalized_outputs_have_unit_norm() {
                if let Some(device) = device() {
                    super::normalized_outputs_have_unit_norm(&device);
                }
            }

            #[test]
            fn siamese_branches_share_one_set_of_weights() {
                if let Some(device) = device() {
                    super::one_set_of_weights(&device);
                }
            }

            #[test]
            fn record_round_trip_is_bit_identical() {
                if let Some(device) = device() {
                    super::record_round_trip_is_bit_identical(&device);
                }
            }

            #[test]
            fn record_loads_on_the_other_backend() {
                #[allow(deprecated)]
                let other = $other;
                if let Some(device) = device() {
                    super::record_loads_on_the_other_backend(&device, &other);
                }
            }

            #[test]
            fn bad_shapes_return_errors() {
                if let Some(device) = device() {
                    super::bad_shapes_return_errors(&device);
                }
            }

            #[test]
            fn bad_configurations_are_rejected() {
                if let Some(device) = device() {
                    super::bad_configurations_are_rejected(&device);
                }
            }

            #[test]
            fn older_model_directories_load() {
                if let Some(device) = device() {
                    super::older_model_directories_load(&device);
                }
            }

            #[test]
            fn model_directories_fail_clearly() {
                if let Some(device) = device() {
                    super::model_directories_fail_clearly(&device);
                }
            }

            #[test]
            fn configs_round_trip_as_json() {
                if let Some(device) = device() {
                    super::configs_round_trip_as_json(&device);
                }
            }

            #[test]
            fn training_steps_lower_the_triplet_loss() {
                if let Some(device) = device() {
                    super::training_steps_lower_the_triplet_loss(&device);
                }
            }

            #[test]
            fn conv_activation_max_pool_matches_burn_ops() {
                if let Some(device) = device() {
                    super::conv_pool::matches_burn_ops(&device);
                }
            }

            #[test]
            fn product_blocks_keep_the_function() {
                if let Some(device) = device() {
                    super::conv_pool::product_blocks_keep_the_function(&device);
                }
            }
        }
    };
}

#[cfg(all(feature = "flex", feature = "ndarray"))]
backend_tests!(flex, Some(Device::flex()), Device::ndarray());
#[cfg(all(feature = "flex", feature = "ndarray"))]
backend_tests!(ndarray, Some(Device::ndarray()), Device::flex());
#[cfg(all(feature = "flex", not(feature = "ndarray")))]
backend_tests!(flex, Some(Device::flex()), Device::flex());
#[cfg(all(feature = "ndarray", not(feature = "flex")))]
backend_tests!(ndarray, Some(Device::ndarray()), Device::ndarray());
#[cfg(all(feature = "wgpu", feature = "flex"))]
backend_tests!(wgpu, wgpu_device::test_device(), Device::flex());
