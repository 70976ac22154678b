//! A listener runs for months, and a burst of calls makes glibc's heap grow in the middle,
//! where `free` never returns pages to the OS; this gives those freed pages back now and then.

use std::time::Duration;

/// How often freed heap pages are handed back: seldom enough to cost nothing (one call
/// that walks the free lists), soon enough that RSS settles a moment after a burst.
const GIVE_BACK_EVERY: Duration = Duration::from_secs(2);

/// Hands freed heap pages back to the OS every [`GIVE_BACK_EVERY`], forever; abort the task
/// to stop it. Live memory is untouched: this only lowers what RSS counts of memory already
/// freed.
pub(crate) async fn give_back_freed_memory() {
    let mut tick = tokio::time::interval(GIVE_BACK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // On a blocking thread: malloc_trim locks every arena in turn, the archive thread's
        // too, which at idle priority may hold its lock while it waits for a core.
        let _ = tokio::task::spawn_blocking(release_free_heap_pages).await;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_heap_pages() {
    // SAFETY: malloc_trim takes no pointer and only returns whole free pages of every arena
    // to the kernel (madvise); allocations in use are never moved or touched, and glibc
    // locks each arena while it walks it, so other threads may allocate meanwhile.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Elsewhere there is no such call: other allocators hand memory back by their own rules.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_heap_pages() {}

/// From this size on, an allocation is its own mapping, handed back to the OS when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const OWN_MAPPING_FROM: usize = 1024 * 1024;

/// Makes every allocation of a megabyte or more its own mapping, returned to the OS as soon as
/// it is freed. glibc's default threshold rises to 32 MiB once such a block is freed, so the
/// next 30 MB report's buffers came from the heaps of the threads that asked, where freed
/// blocks stayed resident beside new ones: a re-fetch of a big report counted blocks long
/// freed in its peak. Called once, first thing in `main`.
pub(crate) fn big_allocations_from_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of glibc's allocator, before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING_FROM as libc::c_int);
    }
}
