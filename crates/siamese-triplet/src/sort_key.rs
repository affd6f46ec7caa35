//! Sorting `(value, column)` entries of a row as plain integers: faster than a comparator
//! on floats, and exact.

/// One entry as an integer that sorts as `(value, column)` does with `f32::total_cmp`: the
/// value's bits made monotonic (negative values bit-flipped, positive ones with the sign bit
/// set) in the high half, the column in the low half.
pub(crate) fn sort_key(value: f32, column: usize) -> u64 {
    let bits = value.to_bits();
    let ordered = if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    };
    (u64::from(ordered) << 32) | column as u64
}

/// The column of a [`sort_key`].
pub(crate) fn key_column(key: u64) -> usize {
    (key & u64::from(u32::MAX)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_as_total_cmp_then_column() {
        let values = [
            f32::NEG_INFINITY,
            -3.5,
            -1e-30,
            -0.0,
            0.0,
            1e-30,
            0.25,
            0.25,
            7.0,
            f32::INFINITY,
            f32::NAN,
        ];
        for (i, &a) in values.iter().enumerate() {
            for (j, &b) in values.iter().enumerate() {
                let expected = a.total_cmp(&b).then(i.cmp(&j));
                assert_eq!(
                    sort_key(a, i).cmp(&sort_key(b, j)),
                    expected,
                    "{a} at {i} vs {b} at {j}"
                );
            }
        }
    }
}
