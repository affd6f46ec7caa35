//! The feature CSV reader on arbitrary text, with and without a named label column.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siamese_train::data::parse_feature_csv;
use std::path::Path;

fuzz_target!(|text: &str| {
    let _ = parse_feature_csv(text, None, Path::new("fuzz.csv"));
    let _ = parse_feature_csv(text, Some("label"), Path::new("fuzz.csv"));
});
