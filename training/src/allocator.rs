//! Keeps freed tensor memory in the process. glibc returns every block
//! over 128 KiB to the system when it is freed, so each training step
//! maps fresh pages for its activations and gradients and pays a page
//! fault per page and a TLB flush per unmap: measured, a third of the time
//! of a small CNN's step. Raising the thresholds keeps those blocks for
//! reuse (1.7× the examples/s on the simulated promoter task).

/// Call once at start-up, before threads allocate.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation thresholds.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        // Nor map blocks over that threshold (32 MiB is glibc's highest):
        // the paper's Transformer allocates activations of 50-130 MB each
        // step, and mapping them fresh spent a sixth of its step zeroing
        // pages. They come from the heap instead, and stay for reuse.
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

/// Caps glibc's malloc arenas at one per core. glibc makes up to eight per
/// core, one for each thread that meets contention; the ingest's file
/// readers, Lance's writers and the runtime's threads each filled their
/// own, and what one freed the others could not reuse, so an ingest's
/// resident memory grew with every commit where what it held did not.
/// Call once at start-up, before threads allocate.
pub fn one_arena_per_core() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: mallopt only changes glibc's allocation settings.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores.min(i32::MAX as usize) as i32);
        }
    }
}
