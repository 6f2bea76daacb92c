//! core's own stores (untyped pool nodes, cap slots, range blocks) in frames core maps for
//! them, growing with use. At boot they are sized from the machine (`state::Capacities`); when
//! what is free of one runs low, or a request runs out of one, [`grow`] doubles every store:
//! it places and maps a new window of frames, moves the stores there
//! (`PhysAllocator::replace_storage`: ids, slots and handles stay valid), frees the old
//! window's frames, and makes the second-level CNodes the new cap slots need
//! (`cspace::grow_to`). Growth happens between requests, as the heap's does (`root::heap`):
//! what it takes of RAM is core's own, and the server's baseline moves by exactly that.

use alloc::vec::Vec;

use crate::cap_space::CapEntry;
use crate::kernel::Slot;
use crate::object::ObjectType;
use crate::phys_allocator::{ObjectId, Storage};
use crate::range_allocator::RangeNode;
use crate::root::cspace::{self, CSpaceError};
use crate::root::kernel::LEVEL2_BITS;
use crate::root::kernel::{slot_limit, MAX_LEVEL2};
use crate::root::state::{self, Capacities, Core, CoreStorage, SetupError, Window, METADATA_BASE};
use crate::root::vspace::{self, MapError};
use crate::untyped_pool::PoolNode;

/// Where the metadata windows end: each new window is mapped after the last.
const METADATA_LIMIT: u64 = 0x20_0000_0000;
/// A store is low when less than this share of it (1/8) is free.
const LOW_SHARE: usize = 8;

/// Entries of each store.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub ram: usize,
    pub device: usize,
    pub pool: usize,
    pub caps: usize,
}

/// Why core's metadata could not grow.
#[derive(Debug)]
pub enum GrowError {
    Map(MapError),
    CSpace(CSpaceError),
    /// The new storage cannot hold what is in use (cannot happen for a larger one).
    Move(crate::kernel::Capacity),
    /// The metadata windows would pass their part of core's VSpace.
    Window,
    /// The metadata is static storage the image brought (`Metadata::Static`).
    Static,
}

impl core::fmt::Display for GrowError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GrowError::Map(e) => write!(f, "core's metadata cannot grow: {e}"),
            GrowError::CSpace(e) => write!(f, "core's CSpace cannot grow: {e}"),
            GrowError::Move(c) => write!(f, "core's metadata: the new storage's {c} cannot hold what is in use"),
            GrowError::Window => write!(f, "core's metadata windows are past {METADATA_LIMIT:#x}"),
            GrowError::Static => write!(f, "core's metadata is static storage, which does not grow"),
        }
    }
}

/// Where each store goes in a window for `sizes`: range nodes first (32-byte aligned), then
/// pool nodes, then cap entries; and the window's bytes.
fn layout(sizes: Sizes) -> ([usize; 4], u64) {
    let ram_at = 0usize;
    let dev_at = ram_at + sizes.ram * size_of::<RangeNode>();
    let pool_at = (dev_at + sizes.device * size_of::<RangeNode>()).next_multiple_of(align_of::<PoolNode>());
    let caps_at = (pool_at + sizes.pool * size_of::<PoolNode>()).next_multiple_of(align_of::<CapEntry>());
    ([ram_at, dev_at, pool_at, caps_at], (caps_at + sizes.caps * size_of::<CapEntry>()) as u64)
}

/// Bytes of VA a window for `sizes` takes (whole 2 MiB frames).
pub fn window_bytes(sizes: Sizes) -> u64 {
    layout(sizes).1.next_multiple_of(2 << 20)
}

/// Places frames for stores of `sizes` and maps them at `at`: the new storage, recording the
/// frames in `frames`.
pub fn map_window(core: &mut Core, sizes: Sizes, frames: &mut Vec<ObjectId>, at: u64) -> Result<CoreStorage, MapError> {
    let ([ram_at, dev_at, pool_at, caps_at], bytes) = layout(sizes);
    let (ours, kernel) = (&mut core.ours, &mut core.kernel);
    let mut place = |ty| {
        let p = ours.alloc(kernel, ty, 0)?;
        // Only the frames are the window's own: paging structures may serve the next window too.
        if ty == ObjectType::Frame2M {
            frames.push(p.handle);
        }
        Ok(p.slot)
    };
    vspace::map_new_frames(&mut place, at, bytes, ObjectType::Frame2M)?;
    let base = at as usize;
    // SAFETY: `map_new_frames` mapped [at, at + bytes) read-write in core's VSpace, backed by
    // frames only core holds and nothing else references; the four ranges are disjoint,
    // aligned for their types, and inside that window. Every element is written here before
    // anything reads it.
    let storage = unsafe {
        Storage {
            ram: vspace::slice_at::<RangeNode>(base + ram_at, sizes.ram, || RangeNode::ZERO),
            device: vspace::slice_at::<RangeNode>(base + dev_at, sizes.device, || RangeNode::ZERO),
            pool: vspace::slice_at::<PoolNode>(base + pool_at, sizes.pool, || PoolNode::EMPTY),
            caps: vspace::slice_at::<CapEntry>(base + caps_at, sizes.caps, || CapEntry::EMPTY),
        }
    };
    Ok(storage)
}

/// Sizes core's metadata for `c`, maps frames for it at [`METADATA_BASE`] and moves it there.
/// Core's heap comes first: the window's record of its frames lives there. The footprint is
/// counted again for the moved stores.
pub fn move_to_window(core: &mut Core, c: Capacities) -> Result<(), SetupError> {
    let first = core.first_slot;
    let untypeds = core.boot.len();
    let max_slots = (slot_limit(MAX_LEVEL2) - first) as usize;
    let slots = c.cap_slots();
    if slots > max_slots {
        return Err(SetupError::Capacity { what: "cap slots (second-level CNodes)", have: max_slots, need: slots });
    }
    crate::root::heap::reserve(core, crate::root::heap::HEADROOM)?;
    let sizes = Sizes {
        ram: c.ram_blocks(untypeds),
        device: c.device_blocks(untypeds),
        pool: c.pool_nodes(untypeds),
        caps: slots,
    };
    let before = core.ours.ram().avail();
    let mut window = Window::new();
    let storage = map_window(core, sizes, window.frames_mut(), METADATA_BASE)?;
    window.advance(window_bytes(sizes));
    // Slots past the boot root CNode exist once `cspace::extend` has made them (it releases them).
    core.ours.placer.caps.hold_from(Slot(1 << LEVEL2_BITS));
    core.ours.replace_storage(storage).map_err(SetupError::Move)?;
    let frames = (window.frames_mut().len() as u64) << 21;
    core.metadata = Some(window);
    core.footprint.mapped_bytes = frames;
    core.footprint.paging_bytes = (before - core.ours.ram().avail()) - frames;
    state::count_footprint(core);
    Ok(())
}

/// Whether one of core's stores has less than an eighth free.
pub fn low(core: &Core) -> bool {
    let ours = &core.ours;
    let pool = &ours.placer.pool;
    let (ram, caps) = (ours.ram(), &ours.placer.caps);
    pool.capacity() - pool.nodes_in_use() < pool.capacity() / LOW_SHARE
        || caps.free_slots() < caps.capacity() / LOW_SHARE
        || ram.free_nodes() < ram.capacity() / LOW_SHARE
}

/// Doubles every store of core's metadata into a new window and frees the old one's frames.
/// Only for metadata core mapped itself (`Metadata::Mapped`); static storage cannot grow.
pub fn grow(core: &mut Core) -> Result<Sizes, GrowError> {
    let Some(mut window) = core.metadata.take() else { return Err(GrowError::Static) };
    let r = grow_window(core, &mut window);
    core.metadata = Some(window);
    r
}

fn grow_window(core: &mut Core, window: &mut Window) -> Result<Sizes, GrowError> {
    let ours = &core.ours;
    let sizes = Sizes {
        ram: 2 * ours.ram().slab_len(),
        device: ours.device().slab_len(),
        pool: 2 * ours.placer.pool.capacity(),
        caps: 2 * ours.placer.caps.capacity(),
    };
    let first = core.first_slot;
    let old_end = first + ours.placer.caps.capacity() as u32;
    let new_end = first + sizes.caps as u32;
    let bytes = window_bytes(sizes);
    if window.next_va + bytes > METADATA_LIMIT {
        return Err(GrowError::Window);
    }
    let mut frames = Vec::new();
    let storage = map_window(core, sizes, &mut frames, window.next_va).map_err(GrowError::Map)?;
    // Slots past the CSpace core has made exist once `cspace::grow_to` has made them.
    core.ours.placer.caps.hold_from(crate::kernel::Slot(old_end.max(cspace::slot_end(core))));
    core.ours.replace_storage(storage).map_err(GrowError::Move)?;
    let level2 = (new_end as usize - 1) >> LEVEL2_BITS;
    if let Some(ext) = cspace::grow_to(core, level2).map_err(GrowError::CSpace)? {
        sel4_root_task::println!(
            "core's CSpace grew to {} second-level CNodes of 2^{LEVEL2_BITS} slots (top CNode of 2^{} slots)",
            ext.level2,
            ext.top_radix
        );
    }
    core.ours.placer.caps.release_held();
    // The old window's frames: revoking each leaf unmaps it.
    for h in core::mem::replace(&mut window.frames, frames) {
        core.ours.free(&mut core.kernel, h).map_err(|e| GrowError::Map(MapError::Free(e)))?;
    }
    window.next_va += bytes;
    let f = &mut core.footprint;
    (f.pool_nodes, f.cap_slots, f.ram_blocks, f.device_blocks) = (sizes.pool, sizes.caps, sizes.ram, sizes.device);
    Ok(sizes)
}
