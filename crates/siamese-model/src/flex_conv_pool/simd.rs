//! Runtime selection of AVX2 code for the kernel's element loops.
//!
//! The crate is compiled for the baseline x86-64 target (SSE2), where the loops' selects
//! and comparisons do not vectorise. [`avx2_or_portable!`] compiles one body twice — as
//! is and with AVX2 and FMA enabled — and runs the second when the CPU has both.

/// Defines `fn $name($args)` (no return value) whose body runs with AVX2 + FMA code
/// generation where the CPU supports it (checked once per call; the standard library
/// caches the answer).
macro_rules! avx2_or_portable {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $type:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $type),*) {
            #[inline(always)]
            fn portable($($arg: $type),*) $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn with_avx2($($arg: $type),*) {
                    portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            portable($($arg),*)
        }
    };
}

pub(super) use avx2_or_portable;
