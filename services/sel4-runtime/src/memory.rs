//! Memory core mapped for the program, checked: a pattern written to every page and read back.

/// A page that did not read back what was written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub vaddr: u64,
    pub wrote: u64,
    pub read: u64,
}

impl core::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x} reads {:#x} after writing {:#x}", self.vaddr, self.read, self.wrote)
    }
}

/// The word [`touch`] writes at `page` for `seed`.
pub fn pattern(page: u64, seed: u64) -> u64 {
    page ^ seed.rotate_left(17) ^ 0x5a5a_5a5a_5a5a_5a5a
}

/// Writes a word derived from `seed` to every page of `[vaddr, vaddr + size)`, then reads each
/// back (after all are written, so pages that alias each other show up).
///
/// # Safety
/// `[vaddr, vaddr + size)` is mapped read-write, page aligned, and nothing else in the program
/// refers to it while this runs. A page that is not mapped faults the program (which is what
/// a test that expects a fault relies on).
pub unsafe fn touch(vaddr: u64, size: u64, seed: u64) -> Result<(), Mismatch> {
    for page in pages(vaddr, size) {
        // SAFETY: inside the range the caller vouches for; a volatile write so it happens.
        unsafe { (page as *mut u64).write_volatile(pattern(page, seed)) };
    }
    // SAFETY: the caller's promise, as above.
    unsafe { verify(vaddr, size, seed) }
}

/// Whether every page of `[vaddr, vaddr + size)` still holds what [`touch`] wrote for `seed`.
///
/// # Safety
/// As for [`touch`] (read-only here).
pub unsafe fn verify(vaddr: u64, size: u64, seed: u64) -> Result<(), Mismatch> {
    for page in pages(vaddr, size) {
        // SAFETY: inside the range the caller vouches for.
        let read = unsafe { (page as *const u64).read_volatile() };
        let wrote = pattern(page, seed);
        if read != wrote {
            return Err(Mismatch { vaddr: page, wrote, read });
        }
    }
    Ok(())
}

fn pages(vaddr: u64, size: u64) -> impl Iterator<Item = u64> {
    (vaddr..vaddr.saturating_add(size)).step_by(4096)
}
