//! Large buffers backed by huge pages where the OS offers them.
//!
//! A launch's HBM buffers are fresh memory: a 64 MiB output faults in
//! 16,384 pages of 4 KiB on first touch, which on Linux costs more than
//! writing the bytes (most of a 64 MiB DMA copy's time on the simulator
//! before this). Vectors of [`HUGE_MIN_BYTES`] or more are advised
//! `MADV_HUGEPAGE` before they are first written, so that the kernel
//! backs them with 2 MiB pages where transparent huge pages are enabled
//! (`always` or `madvise`); elsewhere the advice is ignored and they are
//! ordinary vectors. Nothing else about them differs.

/// The size from which a vector is advised huge pages: a few huge pages'
/// worth, so that small buffers never pay for it.
pub const HUGE_MIN_BYTES: usize = 8 << 20;

const HUGE_PAGE: usize = 2 << 20;

/// An empty vector with room for `n` elements, advised huge pages when
/// large (see the module docs).
pub fn with_capacity<T>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    advise_huge(
        v.as_mut_ptr().cast(),
        n.saturating_mul(std::mem::size_of::<T>()),
    );
    v
}

/// `n` copies of `value`, in a vector advised huge pages when large.
pub fn filled<T: Clone>(n: usize, value: T) -> Vec<T> {
    if n.saturating_mul(std::mem::size_of::<T>()) < HUGE_MIN_BYTES {
        // `vec!` takes zeroed memory from the allocator for zeros.
        return vec![value; n];
    }
    let mut v = with_capacity(n);
    v.resize(n, value);
    v
}

/// A copy of `s`, in a vector advised huge pages when large.
pub fn copied<T: Copy>(s: &[T]) -> Vec<T> {
    let mut v = with_capacity(s.len());
    v.extend_from_slice(s);
    v
}

/// The elements of `it` (`n` of them expected), in a vector advised huge
/// pages when large.
pub fn collected<T>(n: usize, it: impl Iterator<Item = T>) -> Vec<T> {
    let mut v = with_capacity(n);
    v.extend(it);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, bytes: usize) {
    if bytes < HUGE_MIN_BYTES {
        return;
    }
    // Only whole huge pages inside the allocation can be backed by one.
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + bytes) & !(HUGE_PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside an allocation this vector owns and
        // nothing has been written to yet; MADV_HUGEPAGE changes how the
        // pages are backed, never their contents. Failure (no THP support)
        // leaves ordinary pages, so its result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_ptr: *mut u8, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_small_vectors_hold_what_they_are_given() {
        let n = HUGE_MIN_BYTES / 4 + 123;
        let v = filled(n, 7u32);
        assert_eq!(v.len(), n);
        assert!(v.iter().all(|&x| x == 7));
        let src: Vec<f32> = (0..n).map(|i| i as f32).collect();
        assert_eq!(copied(&src), src);
        assert_eq!(
            collected(n, src.iter().map(|x| x * 2.0))[n - 1],
            (n - 1) as f32 * 2.0
        );
        assert_eq!(filled(3, 1u8), vec![1, 1, 1]);
        assert!(with_capacity::<f64>(0).is_empty());
    }
}
