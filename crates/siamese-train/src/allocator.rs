//! The process's memory allocator, tuned for training loops.
//!
//! A training step allocates and frees the same large tensors every step (the default
//! net's biggest, at batch 128, is 29 MB). glibc's `malloc` serves blocks above its mmap
//! threshold (128 KiB at first) with fresh `mmap`s and returns them to the OS when freed, so
//! every step page-faults its tensors in again and the kernel zero-fills the pages: about
//! 15 % of a flex training step (`docs/benchmarks.md`). [`keep_freed_memory`] raises the
//! threshold to glibc's maximum (32 MiB) and keeps freed memory in the heap, as PyTorch's
//! caching allocator does for its tensors. Peak memory does not grow: a freed block is
//! reused by the next step's tensors of the same sizes.

/// Largest block glibc serves from its heap (its maximum mmap threshold on 64-bit).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HEAP_BLOCKS_UP_TO: libc::c_int = 32 << 20;

/// Free memory at the top of the heap kept rather than returned to the OS.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEEP_FREE: libc::c_int = 1 << 30;

/// Keeps freed blocks of up to 32 MiB in the heap for reuse (glibc on Linux; elsewhere
/// nothing changes). Call it once, first thing in `main`, before threads start.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes glibc's allocation parameters; it is called before
    // any other thread exists, and both values are in the ranges glibc documents.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO);
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP_FREE);
    }
}
