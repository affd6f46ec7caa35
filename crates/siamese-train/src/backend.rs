//! The one place a backend is named: a [`BackendKind`] becomes a Burn [`Device`], or an
//! error that says how to get it.

use burn::prelude::*;

use crate::config::BackendKind;
use crate::error::TrainError;

/// How to get a wgpu adapter where there is none.
pub const WGPU_ADAPTER_HELP: &str = "install a GPU driver with Vulkan support, or Mesa's software Vulkan (lavapipe, slow but complete): `apt-get install mesa-vulkan-drivers libvulkan1`";

/// The device of a backend, or why it is not available (not compiled in, or no adapter).
///
/// The wgpu runtime is brought up once per process, here, so that a missing adapter is an
/// error rather than a panic on the first tensor.
pub fn backend_device(backend: BackendKind) -> Result<Device, TrainError> {
    match backend {
        #[cfg(feature = "flex")]
        BackendKind::Flex => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        BackendKind::Ndarray => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => wgpu_device(),
        #[allow(unreachable_patterns)]
        other => {
            let name = backend_name(other);
            Err(TrainError::Config(format!(
                "this siamese was built without the {name} backend; rebuild with `--features {name}`"
            )))
        }
    }
}

/// The kebab-case name of a backend, as the configuration and `--backend` spell it.
pub fn backend_name(backend: BackendKind) -> &'static str {
    match backend {
        BackendKind::Flex => "flex",
        BackendKind::Ndarray => "ndarray",
        BackendKind::Wgpu => "wgpu",
    }
}

/// How many of `blocks` conv blocks the embedder computes as matrix products
/// ([`ConvEmbedderConfig::product_blocks`](siamese_model::ConvEmbedderConfig::product_blocks))
/// on `backend`, for the fastest training step measured here (`docs/benchmarks.md`): on
/// flex the first block only (products elsewhere cost more than Burn's convolution
/// backward); on ndarray every block (its transposed convolution takes seconds); on wgpu
/// every block (measured on software Vulkan; no GPU was available to measure).
pub fn product_blocks(backend: BackendKind, blocks: usize) -> usize {
    match backend {
        BackendKind::Flex => blocks.min(1),
        BackendKind::Ndarray | BackendKind::Wgpu => blocks,
    }
}

/// The backend's name, with the adapter and graphics API for wgpu once it is initialised
/// (e.g. `wgpu: llvmpipe (LLVM 15.0.6, 256 bits), Vulkan, Cpu`).
pub fn describe_backend(backend: BackendKind) -> String {
    match backend {
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => match WGPU.get() {
            Some(Ok((_, adapter))) => format!("wgpu: {adapter}"),
            _ => "wgpu".to_string(),
        },
        other => backend_name(other).to_string(),
    }
}

/// The wgpu device and a description of its adapter, or why there is none.
#[cfg(feature = "wgpu")]
static WGPU: std::sync::OnceLock<Result<(Device, String), String>> = std::sync::OnceLock::new();

/// The default wgpu adapter's device, initialised on first use.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, TrainError> {
    WGPU.get_or_init(|| {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup()
            .map_err(|error| error.to_string())?;
        let info = setup.adapter.get_info();
        let adapter = format!("{}, {:?}, {:?}", info.name, info.backend, info.device_type);
        Ok((device, adapter))
    })
    .clone()
    .map(|(device, _)| device)
    .map_err(|error| {
        TrainError::Config(format!(
            "the wgpu backend found no usable adapter ({error}); {WGPU_ADAPTER_HELP}"
        ))
    })
}
