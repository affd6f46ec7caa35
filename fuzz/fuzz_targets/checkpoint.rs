//! The checkpoint state reader on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siamese_train::checkpoint::parse_state;
use std::path::Path;

fuzz_target!(|text: &str| {
    let _ = parse_state(text, Path::new("state.json"));
});
