//! core's own VSpace beyond its image: frames core places, mapped at virtual addresses core
//! chooses, with every paging structure missing on the way placed by core's allocator too,
//! through the one VSpace walk ([`crate::walk`]) that children's loaders and sessions use.

use sel4::{cap_type, init_thread, Cap, CapRights, VmAttributes, Word};

use sel4_core_protocol::CacheAttr;

use crate::kernel::{KernelError, Slot};
use crate::object::ObjectType;
use crate::phys_allocator::AllocFailure;
use crate::walk::{self, FrameMap, MapFailure, Walk};

/// Why a mapping could not be made.
#[derive(Debug)]
pub enum MapError {
    /// Core could not place a frame or paging structure.
    Alloc(ObjectType, AllocFailure),
    /// The kernel refused a map.
    Kernel(&'static str, KernelError),
    /// The window is not aligned to the frame size, or its end overflows.
    Window { base: u64, bytes: u64 },
    /// Freeing a frame core placed for a mapping failed.
    Free(crate::phys_allocator::FreeError),
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MapError::Alloc(ty, e) => write!(f, "cannot place a {}: {e}", ty.name()),
            MapError::Kernel(what, e) => write!(f, "{what}: {e}"),
            MapError::Free(e) => write!(f, "cannot free a frame: {e}"),
            MapError::Window { base, bytes } => {
                write!(f, "window of {bytes:#x} bytes at {base:#x} is not aligned or overflows")
            }
        }
    }
}

/// Places one object of a type (a frame or a paging structure) and gives the slot of its cap:
/// core's allocator for core's own VSpace; a loader charges a child for what it places.
pub trait Place: FnMut(ObjectType) -> Result<Slot, AllocFailure> {}
impl<F: FnMut(ObjectType) -> Result<Slot, AllocFailure>> Place for F {}

/// What [`map_new_frames`] placed.
#[derive(Copy, Clone, Debug, Default)]
pub struct Mapped {
    pub frames: u64,
    pub frame_bytes: u64,
    pub paging_structures: u64,
    pub paging_bytes: u64,
}

fn is_failed_lookup(e: &sel4::Error) -> bool {
    matches!(e, sel4::Error::FailedLookup { .. })
}

/// Places frames of `frame` type (4 KiB or 2 MiB) for `[base, base + bytes)` (rounded up to
/// whole frames) and maps them read-write, cached, in core's VSpace, placing the paging
/// structures that are missing.
pub fn map_new_frames(place: &mut impl Place, base: u64, bytes: u64, frame: ObjectType) -> Result<Mapped, MapError> {
    if !matches!(frame, ObjectType::Frame2M | ObjectType::Frame4K) {
        return Err(MapError::Window { base, bytes });
    }
    let size = frame.object_bits(0).map(|b| 1u64 << b).map_err(|e| MapError::Kernel("frame size", e))?;
    let end = base.checked_add(bytes.next_multiple_of(size)).ok_or(MapError::Window { base, bytes })?;
    if !base.is_multiple_of(size) || end > 1 << 47 {
        return Err(MapError::Window { base, bytes });
    }
    let mut done = Mapped::default();
    let mut va = base;
    while va < end {
        let slot = place(frame).map_err(|e| MapError::Alloc(frame, e))?;
        done.frames += 1;
        done.frame_bytes += size;
        let how =
            Mapping { vspace: init_thread::VSPACE, rights: CapRights::read_write(), attrs: VmAttributes::DEFAULT };
        map_frame(place, how, slot, frame, va, &mut done)?;
        va += size;
    }
    Ok(done)
}

/// Where and how a frame is mapped.
#[derive(Copy, Clone, Debug)]
pub struct Mapping {
    pub vspace: Cap<cap_type::Pml4>,
    pub rights: CapRights,
    pub attrs: VmAttributes,
}

/// Core's own VSpace (or one core maps as its own), its paging structures placed by `place`.
struct CoreWalk<'p, P: Place> {
    place: &'p mut P,
    how: Mapping,
    done: &'p mut Mapped,
}

/// The kernel's answer to a map: `FailedLookup` means the level above is missing.
fn answer(r: Result<(), sel4::Error>) -> Result<(), MapFailure> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if is_failed_lookup(&e) => Err(MapFailure::Missing),
        Err(e) => Err(MapFailure::Refused(Some(e))),
    }
}

impl<P: Place> Walk for CoreWalk<'_, P> {
    type Error = MapError;

    fn map_frame(&mut self, f: FrameMap) -> Result<(), MapFailure> {
        let Mapping { vspace, rights, attrs } = self.how;
        let s = f.slot.0 as Word;
        answer(match f.ty {
            ObjectType::Frame2M => Cap::<cap_type::LargePage>::from_bits(s).frame_map(vspace, f.va, rights, attrs),
            _ => Cap::<cap_type::Frame4K>::from_bits(s).frame_map(vspace, f.va, rights, attrs),
        })
    }

    fn map_table(&mut self, table: Slot, ty: ObjectType, va: u64) -> Result<(), MapFailure> {
        let (vspace, attrs, s) = (self.how.vspace, VmAttributes::DEFAULT, table.0 as Word);
        answer(match ty {
            ObjectType::PageTable => Cap::<cap_type::PageTable>::from_bits(s).page_table_map(vspace, va, attrs),
            ObjectType::PageDirectory => {
                Cap::<cap_type::PageDirectory>::from_bits(s).page_directory_map(vspace, va, attrs)
            }
            ObjectType::Pdpt => Cap::<cap_type::Pdpt>::from_bits(s).pdpt_map(vspace, va, attrs),
            // Only paging structures have a parent to be missing (`paging_parent`).
            _ => return Err(MapFailure::Refused(None)),
        })
    }

    fn place_table(&mut self, ty: ObjectType, _: u64) -> Result<Slot, MapError> {
        let slot = (self.place)(ty).map_err(|e| MapError::Alloc(ty, e))?;
        self.done.paging_structures += 1;
        self.done.paging_bytes += ty.object_bits(0).map(|b| 1u64 << b).unwrap_or(0);
        Ok(slot)
    }

    fn refused(&self, what: ObjectType, e: Option<KernelError>) -> MapError {
        let what = if what.is_frame() { "map frame" } else { "map paging structure" };
        MapError::Kernel(what, e.unwrap_or(KernelError::IllegalOperation))
    }
}

/// Maps the frame (4 KiB or 2 MiB) in `slot` at `va` as `how` says, placing the paging
/// structures that are missing (counted in `done`), through the one walk ([`crate::walk`]).
pub fn map_frame(
    place: &mut impl Place,
    how: Mapping,
    slot: Slot,
    frame: ObjectType,
    va: u64,
    done: &mut Mapped,
) -> Result<(), MapError> {
    let f = FrameMap { slot, ty: frame, va, cache: CacheAttr::Cached, writable: true };
    walk::map_frame(&mut CoreWalk { place, how, done }, f)
}

/// `n` values of `T` at `addr`, each made by `fill`: a table in frames core mapped.
///
/// # Safety
/// `[addr, addr + n * size_of::<T>())` is mapped read-write, aligned for `T`, and referenced
/// by nothing else while the slice lives.
pub unsafe fn slice_at<'a, T>(addr: usize, n: usize, mut fill: impl FnMut() -> T) -> &'a mut [T] {
    let p = addr as *mut T;
    for i in 0..n {
        // SAFETY: inside the range the caller vouches for; writing initialises without reading.
        unsafe { p.add(i).write(fill()) };
    }
    // SAFETY: initialised above; exclusive by the caller's promise.
    unsafe { core::slice::from_raw_parts_mut(p, n) }
}
