//! `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp`, which the
//! precompiled `compiler_builtins` of this target does not provide to a
//! freestanding program. Copies and fills use `rep movsb`/`rep stosb` in
//! inline assembly and the comparison uses volatile reads, so the compiler
//! cannot recognise the bodies as the very functions they implement and
//! turn them into calls to themselves.
//!
//! The implementations are plain functions (host-tested); the C symbols
//! exist only in non-test builds, so a host test binary keeps libc's.

/// Copies `n` bytes upwards.
///
/// # Safety
/// `src..src+n` readable, `dst..dst+n` writable; if they overlap, `dst` must
/// not lie above `src`.
pub unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: `rep movsb` with the direction flag clear (the ABI's state
    // between calls) reads `src..src+n` and writes `dst..dst+n` upwards, which
    // the caller allows; it touches nothing else but RCX, RDI and RSI.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Copies `n` bytes downwards (last byte first).
///
/// # Safety
/// As for [`copy_forward`], except that `dst` must not lie below `src` if
/// the ranges overlap.
pub unsafe fn copy_backward(dst: *mut u8, src: *const u8, n: usize) {
    if n == 0 {
        return;
    }
    // SAFETY: with the direction flag set, `rep movsb` copies from the last
    // byte of each range down to the first, inside the ranges the caller
    // allows (`add(n - 1)` stays inside them for n > 0); `cld` restores the
    // flag the ABI expects clear.
    unsafe {
        core::arch::asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dst.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _,
            options(nostack)
        );
    }
}

/// `memmove`: copies correctly whichever way the ranges overlap.
///
/// # Safety
/// `src..src+n` readable, `dst..dst+n` writable.
pub unsafe fn move_bytes(dst: *mut u8, src: *const u8, n: usize) {
    // dst below src, or no overlap: copying upwards never reads a byte
    // already overwritten.
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: the caller's ranges; dst is below src or they do not overlap.
        unsafe { copy_forward(dst, src, n) }
    } else {
        // SAFETY: the caller's ranges; dst lies above src inside its range.
        unsafe { copy_backward(dst, src, n) }
    }
}

/// `memset`.
///
/// # Safety
/// `dst..dst+n` writable.
pub unsafe fn fill(dst: *mut u8, value: u8, n: usize) {
    // SAFETY: `rep stosb` with the direction flag clear writes `dst..dst+n`,
    // which the caller allows, and nothing else but RCX and RDI.
    unsafe {
        core::arch::asm!(
            "rep stosb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            in("al") value,
            options(nostack, preserves_flags)
        );
    }
}

/// `memcmp`: difference of the first differing bytes (as unsigned), or 0.
///
/// # Safety
/// Both ranges readable for `n` bytes.
pub unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: i < n, and the caller allows reading n bytes of each.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

#[cfg(not(test))]
mod symbols {
    // The C contracts of these symbols are the preconditions of the functions
    // they call: valid ranges of `n` bytes, and for memcpy no overlap.

    #[no_mangle]
    unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: memcpy's contract: valid, non-overlapping ranges.
        unsafe { super::copy_forward(dst, src, n) };
        dst
    }

    #[no_mangle]
    unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: memmove's contract: valid ranges, any overlap.
        unsafe { super::move_bytes(dst, src, n) };
        dst
    }

    #[no_mangle]
    unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
        // SAFETY: memset's contract: `dst..dst+n` writable.
        unsafe { super::fill(dst, c as u8, n) };
        dst
    }

    #[no_mangle]
    unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: memcmp's contract: both ranges readable.
        unsafe { super::compare(a, b, n) }
    }

    #[no_mangle]
    unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: bcmp's contract: both ranges readable.
        unsafe { super::compare(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn copy_and_fill() {
        for n in [0, 1, 7, 8, 63, 64, 4097] {
            let src = pattern(n);
            let mut dst = vec![0xeeu8; n + 2];
            // SAFETY: dst has n + 2 bytes, src n; distinct vectors.
            unsafe { copy_forward(dst.as_mut_ptr().add(1), src.as_ptr(), n) };
            assert_eq!(&dst[1..n + 1], &src[..]);
            assert_eq!((dst[0], dst[n + 1]), (0xee, 0xee));
            // SAFETY: dst has n + 2 bytes.
            unsafe { fill(dst.as_mut_ptr().add(1), 0x5a, n) };
            assert!(dst[1..n + 1].iter().all(|&b| b == 0x5a));
            assert_eq!((dst[0], dst[n + 1]), (0xee, 0xee));
        }
    }

    /// memmove over every shift in both directions, checked against
    /// `slice::copy_within`.
    #[test]
    fn move_with_overlap_both_ways() {
        let len = 300;
        for n in [0, 1, 2, 15, 16, 100, 200] {
            for src_off in [0, 1, 50, 100] {
                for dst_off in [0, 1, 3, 49, 50, 51, 99, 100] {
                    if src_off + n > len || dst_off + n > len {
                        continue;
                    }
                    let mut ours = pattern(len);
                    let mut want = ours.clone();
                    want.copy_within(src_off..src_off + n, dst_off);
                    let p = ours.as_mut_ptr();
                    // SAFETY: both ranges lie inside `ours` (checked above).
                    unsafe { move_bytes(p.add(dst_off), p.add(src_off), n) };
                    assert_eq!(ours, want, "n={n} src={src_off} dst={dst_off}");
                }
            }
        }
    }

    #[test]
    fn backward_copy_restores_the_direction_flag() {
        let mut v = pattern(64);
        let p = v.as_mut_ptr();
        // SAFETY: 8 + 32 <= 64 bytes of v; dst above src, as copy_backward needs.
        unsafe { copy_backward(p.add(8), p, 32) };
        // A forward copy after it must still go forward.
        let src = pattern(16);
        let mut dst = vec![0u8; 16];
        // SAFETY: both vectors have 16 bytes.
        unsafe { copy_forward(dst.as_mut_ptr(), src.as_ptr(), 16) };
        assert_eq!(dst, src);
    }

    #[test]
    fn compare_orders_as_unsigned_bytes() {
        let a = [1u8, 2, 3, 0x80];
        let b = [1u8, 2, 4, 0x00];
        // SAFETY: every range read lies inside `a` or `b`.
        unsafe {
            assert_eq!(compare(a.as_ptr(), a.as_ptr(), 4), 0);
            assert!(compare(a.as_ptr(), b.as_ptr(), 4) < 0);
            assert!(compare(b.as_ptr(), a.as_ptr(), 4) > 0);
            assert_eq!(compare(a.as_ptr(), b.as_ptr(), 2), 0);
            assert!(compare(a[3..].as_ptr(), b[3..].as_ptr(), 1) > 0);
            assert_eq!(compare(a.as_ptr(), b.as_ptr(), 0), 0);
        }
    }
}
