//! The training configuration reader on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siamese_train::TrainConfig;
use std::path::Path;

fuzz_target!(|text: &str| {
    if let Ok(config) = TrainConfig::from_json(text, Path::new("fuzz.json")) {
        // What validates must be usable: the step count and schedule are defined.
        let total = config.total_steps(1000);
        for step in [0, total / 2, total.saturating_sub(1)] {
            assert!(config.learning_rate(step, total).is_finite());
        }
    }
});
