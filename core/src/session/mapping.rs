//! The VSpace walk every mapping core makes for a child goes through (its sessions' and its
//! loader's): map, and where the kernel reports the level above missing, place that level
//! (charged to the same [`Pending`]) and map it first. Generic over the paging levels
//! ([`ObjectType::paging_parent`]): the kernel says which is missing, the walk never assumes
//! how many there are.

use alloc::vec::Vec;

use sel4_core_protocol::{CacheAttr, ErrorCode};

use super::pd::{MapFailure, Pd};
use super::{Paging, Pending};
use crate::kernel::Slot;
use crate::object::ObjectType;

/// Levels a walk may place above a frame at most, with the frame's own map: more means the
/// kernel keeps reporting a level missing that was just placed.
const MAX_TRIES: usize = 4;

/// A frame to map: its slot in core's CSpace and type, where, and how.
#[derive(Copy, Clone, Debug)]
pub struct FrameMap {
    pub slot: Slot,
    pub ty: ObjectType,
    pub va: u64,
    pub cache: CacheAttr,
    pub writable: bool,
}

/// Maps a frame, placing (and charging to `pending`) the paging structures missing on the way,
/// as the kernel reports them, into `paging`.
pub fn map_frame(
    pd: &mut impl Pd,
    pending: &mut Pending,
    paging: &mut Vec<Paging>,
    f: FrameMap,
) -> Result<(), ErrorCode> {
    // One missing level per attempt.
    for _ in 0..MAX_TRIES {
        match pd.map_frame(f.slot, f.ty, f.va, f.cache, f.writable) {
            Ok(()) => return Ok(()),
            Err(MapFailure::Missing) => place_table(pd, pending, paging, f.ty.paging_parent(), f.va)?,
            Err(MapFailure::Refused) => return Err(ErrorCode::InvalidArgument),
        }
    }
    Err(ErrorCode::InvalidArgument)
}

/// Places a paging structure of type `ty` covering `va` and maps it, placing the levels above
/// it the kernel reports missing.
pub fn place_table(
    pd: &mut impl Pd,
    pending: &mut Pending,
    paging: &mut Vec<Paging>,
    ty: Option<ObjectType>,
    va: u64,
) -> Result<(), ErrorCode> {
    let ty = ty.ok_or(ErrorCode::InvalidArgument)?;
    let table = pending.place(pd, ty, 0, None, 0)?;
    paging.push(Paging { object: table, va });
    for _ in 0..MAX_TRIES {
        match pd.map_table(table.slot, ty, va) {
            Ok(()) => return Ok(()),
            Err(MapFailure::Missing) => place_table(pd, pending, paging, ty.paging_parent(), va)?,
            Err(MapFailure::Refused) => return Err(ErrorCode::InvalidArgument),
        }
    }
    Err(ErrorCode::InvalidArgument)
}
