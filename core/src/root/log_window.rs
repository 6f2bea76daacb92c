//! Children's log buffers as core sees them: the frame the loader placed for a child (mapped
//! writable in the child at `abi::LOG_BUFFER`) is mapped read-only in core's VSpace at
//! [`LOG_WINDOWS`] + one page per child number (its badge, unique among live children), through a copy of its cap in core's CSpace. A `LogBuffer`
//! request then costs core a copy out of that page, no kernel invocation. Freeing the child's
//! frame (its reclaim revokes the frame's untyped) deletes the copy too, which unmaps the
//! window; core then frees the copy's slot ([`LogWindow::release`]). The paging structures
//! above the windows are core's own and stay (one page table serves 512 children).

use sel4::{init_thread, CapRights, VmAttributes};

use crate::kernel::Slot;
use crate::object::ObjectType;
use crate::root::state::Core;
use crate::root::vspace::{self, MapError, Mapped, Mapping};

/// Where core maps the log buffers, one page per child index.
pub const LOG_WINDOWS: u64 = 0x40_0000_0000;
/// The end of that region: 2^24 children.
const LOG_WINDOWS_END: u64 = 0x50_0000_0000;
const PAGE: u64 = 4096;
/// Bytes copied out of a log buffer at a time (on core's stack).
const PIECE: usize = 256;

/// A child's log buffer, mapped in core.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LogWindow {
    va: u64,
    /// Core's copy of the frame cap (the mapping's).
    slot: Slot,
    /// Bytes of paging structures core placed to map it (core's own for good).
    pub paging_bytes: u64,
}

/// Why a child's log buffer could not be mapped in core.
#[derive(Debug)]
pub enum WindowError {
    /// Its index is past the region core keeps for log buffers.
    Index(usize),
    /// No free slot in core's CSpace for the cap's copy.
    NoSlot,
    /// The kernel refused the copy.
    Copy(crate::kernel::KernelError),
    Map(MapError),
}

impl core::fmt::Display for WindowError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WindowError::Index(i) => write!(f, "child {i} is past the log windows core keeps"),
            WindowError::NoSlot => f.write_str("no free slot in core's CSpace for the log buffer's cap"),
            WindowError::Copy(e) => write!(f, "copying the log buffer's cap: {e:?}"),
            WindowError::Map(e) => write!(f, "mapping the log buffer in core: {e}"),
        }
    }
}

/// Places the paging structures for the windows of children `0..count` (one probe per page
/// table's span), so that starting them takes none of core's memory.
pub fn prepare(core: &mut Core, count: usize) -> Result<Mapped, MapError> {
    let span = 1u64 << ObjectType::PageTable.vspan_bits().unwrap_or(21);
    let end = (LOG_WINDOWS + count as u64 * PAGE).min(LOG_WINDOWS_END);
    let mut done = Mapped::default();
    let mut va = LOG_WINDOWS;
    while va < end {
        let m = crate::root::probe::prepare_paging(core, va)?;
        done.paging_structures += m.paging_structures;
        done.paging_bytes += m.paging_bytes;
        va += span;
    }
    Ok(done)
}

impl LogWindow {
    /// Maps `frame` (the child's log buffer, in core's CSpace) read-only at the window of child
    /// number `index`.
    pub fn attach(core: &mut Core, index: usize, frame: Slot) -> Result<LogWindow, WindowError> {
        let va = (index as u64).checked_mul(PAGE).map(|o| LOG_WINDOWS + o).filter(|&va| va < LOG_WINDOWS_END);
        let va = va.ok_or(WindowError::Index(index))?;
        let slot = core.ours.placer.caps.alloc().map_err(|_| WindowError::NoSlot)?;
        let k = &core.kernel.inner;
        if let Err(e) = k.slot(slot).copy(&k.slot(frame), CapRights::read_only()) {
            let _ = core.ours.placer.caps.free(slot);
            return Err(WindowError::Copy(e));
        }
        let (ours, kernel) = (&mut core.ours, &mut core.kernel);
        let mut place = |ty| ours.alloc(kernel, ty, 0).map(|p| p.slot);
        let how = Mapping { vspace: init_thread::VSPACE, rights: CapRights::read_only(), attrs: VmAttributes::DEFAULT };
        let mut done = Mapped::default();
        let mapped = vspace::map_frame(&mut place, how, slot, ObjectType::Frame4K, va, &mut done);
        if let Err(e) = mapped {
            let _ = core.kernel.inner.slot(slot).delete();
            let _ = core.ours.placer.caps.free(slot);
            return Err(WindowError::Map(e));
        }
        Ok(LogWindow { va, slot, paging_bytes: done.paging_bytes })
    }

    /// Hands the first `len` bytes of the buffer (at most a page) to `each`, in pieces of up to
    /// [`PIECE`] bytes copied out word by word: the child's other threads may write the page
    /// meanwhile, so core never holds a reference into it.
    pub fn read(&self, len: u64, mut each: impl FnMut(&[u8])) {
        let len = len.min(PAGE) as usize;
        let mut piece = [0u8; PIECE];
        for start in (0..len).step_by(PIECE) {
            let n = PIECE.min(len - start);
            for (w, chunk) in piece[..n].chunks_mut(8).enumerate() {
                let at = self.va as usize + start + w * 8;
                // SAFETY: `at` is 8-byte aligned (the window is a page, `start` a multiple of
                // PIECE) and inside the page, which is mapped (read-only) in core while the
                // child lives; the child lives while core serves its requests (`release` comes
                // after its reclaim); a volatile read of mapped memory is sound whatever the
                // child writes there at the same time.
                let word = unsafe { core::ptr::read_volatile(at as *const u64) };
                chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
            }
            each(&piece[..n]);
        }
    }

    /// Frees the copy's slot once the child's frame is gone (its revoke deleted the copy and
    /// unmapped the window).
    pub fn release(self, core: &mut Core) {
        let _ = core.ours.placer.caps.free(self.slot);
    }
}
