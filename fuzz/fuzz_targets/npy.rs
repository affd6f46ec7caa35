//! The `.npy` readers (float32 matrix, int64 vector) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siamese_train::npy::{parse_f32_matrix, parse_i64_vector};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = parse_f32_matrix(data, Path::new("fuzz.npy"));
    let _ = parse_i64_vector(data, 3, Path::new("fuzz.npy"));
});
