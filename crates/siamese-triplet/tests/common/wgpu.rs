//! The device of the `wgpu` tests: the default wgpu adapter, a failure that says how to get
//! one, or a skip the user asked for with `SIAMESE_SKIP_WGPU=1`.

use std::io::Write;
use std::sync::{Once, OnceLock};

use burn::prelude::*;

/// The wgpu device; `None` (after saying so once on stderr) when `SIAMESE_SKIP_WGPU=1`.
///
/// # Panics
/// When no wgpu adapter exists and the user did not opt out: a test that cannot run on the
/// backend it names must not pass.
pub fn test_device() -> Option<Device> {
    if std::env::var_os("SIAMESE_SKIP_WGPU").is_some_and(|value| value == "1") {
        static SAID: Once = Once::new();
        // Straight to the stderr handle: the test harness captures `eprintln!`, and a skip
        // must be visible.
        SAID.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "SIAMESE_SKIP_WGPU=1: the wgpu tests of this binary were skipped"
            );
        });
        return None;
    }
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    match DEVICE.get_or_init(|| {
        Device::wgpu_options()
            .init()
            .map_err(|error| error.to_string())
    }) {
        Ok(device) => Some(device.clone()),
        Err(error) => panic!(
            "no wgpu adapter ({error}). Install a GPU driver with Vulkan support, or Mesa's \
             software Vulkan: `apt-get install mesa-vulkan-drivers libvulkan1`; or set \
             SIAMESE_SKIP_WGPU=1 to skip the wgpu tests"
        ),
    }
}
