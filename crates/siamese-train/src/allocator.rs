//! The process's memory allocator, tuned for training loops.
//!
//! A training step allocates and frees the same large tensors every step (the default
//! net's biggest, at batch 128, is 29 MB; a `[4096, 4096]` distance matrix is 64 MB).
//! glibc's `malloc` serves blocks above its mmap threshold (128 KiB at first) with fresh
//! `mmap`s and returns them to the OS when freed, so every step page-faults its tensors in
//! again and the kernel zero-fills the pages: about 15 % of a flex training step and 40 % of
//! batch-hard mining at B = 4096 (`docs/benchmarks.md`). [`keep_freed_memory`] serves every
//! block from the heap (no `mmap` per block) and keeps freed memory there, as PyTorch's
//! caching allocator does for its tensors. Peak memory does not grow: a freed block is
//! reused by the next step's tensors of the same sizes.

/// Free memory at the top of the heap kept rather than returned to the OS.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEEP_FREE: libc::c_int = 1 << 30;

/// Serves every block from the heap and keeps freed ones there for reuse (glibc on Linux;
/// elsewhere nothing changes). Call it once, first thing in `main`, before threads start.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes glibc's allocation parameters; it is called before
    // any other thread exists, and every value is in the range glibc documents.
    unsafe {
        // No block is served by its own `mmap`: all come from the heap.
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP_FREE);
    }
}
