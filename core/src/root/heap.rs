//! core's heap: the records that grow with use (a child's sessions and their objects) live
//! here, in 2 MiB frames core places with its own allocator and maps at [`HEAP_BASE`] in its
//! own VSpace. What each record costs is charged to the session it serves
//! (`sel4_core_protocol::charges`); the heap is where those bytes live.
//!
//! The heap grows only between requests ([`reserve`]): growing places frames through core's
//! allocator, which a request being served holds, so the allocator itself never grows the heap.
//! [`reserve`] keeps more free than one request can take (a request adds a bounded number of
//! records: tree nodes, boxes and a dataspace's runs); running out anyway is an allocation
//! failure, which stops core with a panic that says so. The heap never shrinks: freed records
//! are reused.

use linked_list_allocator::LockedHeap;

use crate::object::ObjectType;
use crate::root::state::Core;
use crate::root::vspace::{self, MapError};

/// Virtual address of the heap in core's VSpace: in the first 512 GiB, above core's metadata,
/// its table of children and its window onto child frames.
pub const HEAP_BASE: u64 = 0x30_0000_0000;
/// The most the heap can grow to (the rest of the first 512 GiB).
pub const HEAP_LIMIT: u64 = 0x40_0000_0000 - HEAP_BASE;
/// Free heap kept before each request: far more than the records one request adds.
pub const HEADROOM: usize = 256 << 10;
/// What the heap grows by: one 2 MiB frame.
const STEP: u64 = 2 << 20;

// The heap's free list is shared by nothing but core's one thread; the lock is uncontended.
#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Bytes mapped for the heap, and bytes of it in use.
pub fn size() -> (u64, u64) {
    let h = HEAP.lock();
    (h.size() as u64, h.used() as u64)
}

/// Maps more frames for the heap until at least `free` bytes of it are free.
pub fn reserve(core: &mut Core, free: usize) -> Result<(), MapError> {
    loop {
        let (mapped, used) = size();
        if mapped - used >= free as u64 {
            return Ok(());
        }
        if mapped + STEP > HEAP_LIMIT {
            return Err(MapError::Window { base: HEAP_BASE + mapped, bytes: STEP });
        }
        let (ours, kernel) = (&mut core.ours, &mut core.kernel);
        let mut place = |ty| ours.alloc(kernel, ty, 0).map(|p| p.slot);
        vspace::map_new_frames(&mut place, HEAP_BASE + mapped, STEP, ObjectType::Frame2M)?;
        let mut h = HEAP.lock();
        if mapped == 0 {
            // SAFETY: map_new_frames mapped [HEAP_BASE, HEAP_BASE + STEP) read-write in core's
            // VSpace, in frames only core holds, never unmapped; nothing else refers to it.
            unsafe { h.init(HEAP_BASE as *mut u8, STEP as usize) };
        } else {
            // SAFETY: as above, for the STEP bytes right after the heap's current end.
            unsafe { h.extend(STEP as usize) };
        }
    }
}
