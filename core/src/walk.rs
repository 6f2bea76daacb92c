//! The one VSpace walk every mapping core makes goes through: its own (metadata, heap, the
//! window it fills child frames through), a child's loader's and a child's RAM sessions'. Map,
//! and where the kernel reports the level above missing, place that level and map it first.
//! Generic over the paging levels ([`ObjectType::paging_parent`]): the kernel says which is
//! missing (`src/arch/x86/64/kernel/vspace.c`: `decodeX86FrameInvocation` after
//! `lookupPTSlot`/`lookupPDSlot`, `decodeX86PageDirectoryInvocation` after `lookupPDPTSlot`),
//! the walk never assumes how many there are. What placing a level means (charged to a
//! session's quota, or core's own) is the [`Walk`]'s.

use sel4_core_protocol::CacheAttr;

use crate::kernel::{KernelError, Slot};
use crate::object::ObjectType;

/// Why a map invocation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MapFailure {
    /// The paging structure one level up is missing: placing it and mapping it first lets the
    /// map succeed.
    Missing,
    /// Anything else (the slot is mapped already, the address is not one the kernel maps),
    /// with the kernel's error where there is one.
    Refused(Option<KernelError>),
}

/// A frame to map: its slot in core's CSpace and type, where, and how.
#[derive(Copy, Clone, Debug)]
pub struct FrameMap {
    pub slot: Slot,
    pub ty: ObjectType,
    pub va: u64,
    pub cache: CacheAttr,
    pub writable: bool,
}

/// A VSpace and whoever places its paging structures.
pub trait Walk {
    type Error;
    /// Maps frame `f`: the kernel's answer.
    fn map_frame(&mut self, f: FrameMap) -> Result<(), MapFailure>;
    /// Maps paging structure `table` of type `ty` covering `va`: the kernel's answer.
    fn map_table(&mut self, table: Slot, ty: ObjectType, va: u64) -> Result<(), MapFailure>;
    /// Places a paging structure of type `ty` that is to cover `va`.
    fn place_table(&mut self, ty: ObjectType, va: u64) -> Result<Slot, Self::Error>;
    /// The error for a map the kernel refused (`what` was being mapped).
    fn refused(&self, what: ObjectType, e: Option<KernelError>) -> Self::Error;
}

/// Maps a walk may try at most: the frame's own, and one after each level above the smallest
/// frame that can be missing (`ObjectType::paging_parent`, up to the VSpace root). More means
/// the kernel keeps reporting a level missing that was just placed.
const MAX_TRIES: usize = {
    let mut tries = 1;
    let mut level = ObjectType::Frame4K.paging_parent();
    while let Some(ty) = level {
        tries += 1;
        level = ty.paging_parent();
    }
    tries
};

/// Maps a frame, placing the paging structures missing on the way, as the kernel reports them.
pub fn map_frame<W: Walk>(w: &mut W, f: FrameMap) -> Result<(), W::Error> {
    // One missing level per attempt.
    for _ in 0..MAX_TRIES {
        match w.map_frame(f) {
            Ok(()) => return Ok(()),
            Err(MapFailure::Missing) => place_table(w, f.ty.paging_parent(), f.va, f.ty)?,
            Err(MapFailure::Refused(e)) => return Err(w.refused(f.ty, e)),
        }
    }
    Err(w.refused(f.ty, None))
}

/// Places a paging structure of type `ty` covering `va` and maps it, placing the levels above
/// it the kernel reports missing (`below`: what needed it).
pub fn place_table<W: Walk>(w: &mut W, ty: Option<ObjectType>, va: u64, below: ObjectType) -> Result<(), W::Error> {
    let ty = ty.ok_or_else(|| w.refused(below, None))?;
    let table = w.place_table(ty, va)?;
    for _ in 0..MAX_TRIES {
        match w.map_table(table, ty, va) {
            Ok(()) => return Ok(()),
            Err(MapFailure::Missing) => place_table(w, ty.paging_parent(), va, ty)?,
            Err(MapFailure::Refused(e)) => return Err(w.refused(ty, e)),
        }
    }
    Err(w.refused(ty, None))
}
