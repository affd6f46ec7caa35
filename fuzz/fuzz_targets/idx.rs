//! The idx reader on arbitrary bytes: the input is split into an image file and a label
//! file at a position taken from its first two bytes; both may be gzip'd.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siamese_train::data::parse_idx_pair;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((split, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let at = usize::from(u16::from_le_bytes(*split)).min(rest.len());
    let (images, labels) = rest.split_at(at);
    let _ = parse_idx_pair(images, labels, Path::new("images"), Path::new("labels"));
});
