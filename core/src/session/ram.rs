//! RAM sessions: dataspaces of physically contiguous frames (the largest that fit, at
//! consecutive addresses core chose), mapped into the child with the paging structures they
//! need, their frame caps handed to the child on request.

use sel4_core_protocol::answer::{Answer, Done, RamAllocReply};
use sel4_core_protocol::layout;
use sel4_core_protocol::limits::{PAGE_SIZE, VADDR_LIMIT};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle, PhysRange};

use super::pd::{MapFailure, Pd, Rights};
use super::{Client, Dataspace, Entry, Named, Owner, Pending, Session};
use crate::object::ObjectType;

/// The largest frame this kernel configuration has.
fn max_frame_bits() -> u8 {
    let huge = ObjectType::Frame1G;
    match (huge.into_word(), huge.fixed_bits()) {
        (Some(_), Some(b)) => b,
        _ => ObjectType::Frame2M.fixed_bits().unwrap_or(12),
    }
}

pub(super) fn frame_type(bits: u8) -> ObjectType {
    if Some(bits) == ObjectType::Frame1G.fixed_bits() {
        ObjectType::Frame1G
    } else if Some(bits) == ObjectType::Frame2M.fixed_bits() {
        ObjectType::Frame2M
    } else {
        ObjectType::Frame4K
    }
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn alloc(
    pd: &mut impl Pd,
    s: &mut Session,
    size: u64,
    align_log2: u8,
    cache: CacheAttr,
    range: Option<PhysRange>,
) -> Result<Words, ErrorCode> {
    // Cheap refusals first: the frames alone must fit the quota.
    if size > s.left().0 {
        return Err(ErrorCode::OutOfRamQuota);
    }
    let d = Entry::free_index(&s.dataspaces).ok_or(ErrorCode::OutOfRecords)?;
    let align = align_log2.max(PAGE_SIZE.trailing_zeros() as u8);
    let range = range.map(|r| (r.lo, r.hi));
    // The largest frame the dataspace can hold, if its base is aligned for it: tried first, so
    // a large dataspace is made of few large frames rather than many small ones (each an
    // object of the session's record); where no such block is free, any that fits.
    let large =
        layout::FRAME_BITS.into_iter().filter(|&b| b <= max_frame_bits() && size >> b != 0).max().unwrap_or(align);
    let base = match pd.find_block(size, align.max(large), range) {
        Ok(b) => b,
        Err(_) => pd.find_block(size, align, range).map_err(|_| ErrorCode::NoMemory)?,
    };
    let mut pending = Pending::new(s);
    let mut frame_bits = 0;
    for f in layout::frames(base, size, max_frame_bits()) {
        if let Err(e) = pending.place(pd, frame_type(f.size_bits), 0, Some(f.paddr), Owner::Dataspace(d as u8)) {
            pending.undo(pd);
            return Err(e);
        }
        frame_bits = frame_bits.max(f.size_bits);
    }
    pending.commit(s);
    let ds = Dataspace { paddr: base, size, frame_bits, cache, mapped: None, caps: 0 };
    let dataspace = Entry::fill(&mut s.dataspaces, d, ds, Named::Dataspace, s.index);
    Ok(RamAllocReply { dataspace, paddr: base, frame_bits }.to_words())
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn free(pd: &mut impl Pd, s: &mut Session, dataspace: Handle) -> Result<Words, ErrorCode> {
    let (d, ds) = Entry::find(&s.dataspaces, dataspace, Named::Dataspace, s.index)?;
    // Revoking the frames' leaves unmaps them and deletes the caps handed out.
    s.release(pd, Some(Owner::Dataspace(d as u8)));
    s.caps_used -= ds.caps;
    s.dataspaces[d].live = false;
    Ok(Done.to_words())
}

/// Maps `frame` at `va`, placing (and charging to `pending`) the paging structures missing on
/// the way, as the kernel reports them.
fn map_frame(
    pd: &mut impl Pd,
    pending: &mut Pending,
    frame: crate::kernel::Slot,
    ty: ObjectType,
    va: u64,
    cache: CacheAttr,
) -> Result<(), ErrorCode> {
    // One missing level per attempt: at most three (page table, directory, PDPT) then the map.
    for _ in 0..4 {
        match pd.map_frame(frame, ty, va, cache) {
            Ok(()) => return Ok(()),
            Err(MapFailure::Missing) => place_table(pd, pending, ty.paging_parent(), va)?,
            Err(MapFailure::Refused) => return Err(ErrorCode::InvalidArgument),
        }
    }
    Err(ErrorCode::InvalidArgument)
}

fn place_table(pd: &mut impl Pd, pending: &mut Pending, ty: Option<ObjectType>, va: u64) -> Result<(), ErrorCode> {
    let ty = ty.ok_or(ErrorCode::InvalidArgument)?;
    let table = pending.place(pd, ty, 0, None, Owner::Paging(va))?;
    for _ in 0..3 {
        match pd.map_table(table.slot, ty, va) {
            Ok(()) => return Ok(()),
            Err(MapFailure::Missing) => place_table(pd, pending, ty.paging_parent(), va)?,
            Err(MapFailure::Refused) => return Err(ErrorCode::InvalidArgument),
        }
    }
    Err(ErrorCode::InvalidArgument)
}

/// Maps dataspace `dataspace` at `vaddr`. Where `foreign` (paging structures of the child's
/// other sessions, with an address each maps) cover any of `[vaddr, vaddr + size)`, it is
/// InvalidArgument: closing that session would unmap this dataspace.
// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn map(
    pd: &mut impl Pd,
    s: &mut Session,
    dataspace: Handle,
    vaddr: u64,
    foreign: &[(ObjectType, u64)],
) -> Result<Words, ErrorCode> {
    let (d, ds) = Entry::find(&s.dataspaces, dataspace, Named::Dataspace, s.index)?;
    let align = (1u64 << ds.frame_bits) - 1;
    let Some(end) = vaddr.checked_add(ds.size).filter(|&e| e <= VADDR_LIMIT) else {
        return Err(ErrorCode::InvalidArgument);
    };
    let overlaps = |&(ty, va): &(ObjectType, u64)| {
        let Some(bits) = ty.vspan_bits() else { return false };
        let lo = va >> bits << bits;
        vaddr < lo.saturating_add(1 << bits) && lo < end
    };
    if ds.mapped.is_some() || vaddr & align != ds.paddr & align || foreign.iter().any(overlaps) {
        return Err(ErrorCode::InvalidArgument);
    }
    let frames = s.objects_of(Owner::Dataspace(d as u8));
    let mut pending = Pending::new(s);
    let mut va = vaddr;
    for (done, o) in frames.iter().enumerate() {
        if let Err(e) = map_frame(pd, &mut pending, o.slot, o.ty, va, ds.cache) {
            // Undo: unmap what was mapped, free the paging structures placed for it.
            for f in &frames[..done] {
                pd.unmap_frame(f.slot, f.ty);
            }
            pending.undo(pd);
            return Err(e);
        }
        va += o.bytes;
    }
    pending.commit(s);
    s.dataspaces[d].value.mapped = Some(vaddr);
    Ok(Done.to_words())
}

/// Copies the caps of dataspace `dataspace`'s frames, in address order, into consecutive slots
/// of the child's CNode from `first_slot` on (a slot outside it or holding a cap already is
/// InvalidArgument; nothing is copied then). Freeing the dataspace revokes the copies.
// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn caps(
    pd: &mut impl Pd,
    client: &Client,
    s: &mut Session,
    dataspace: Handle,
    first_slot: u64,
) -> Result<Words, ErrorCode> {
    let (d, _) = Entry::find(&s.dataspaces, dataspace, Named::Dataspace, s.index)?;
    let frames = s.objects_of(Owner::Dataspace(d as u8));
    let n = frames.len() as u64;
    if first_slot.checked_add(n).is_none_or(|end| end > 1u64 << client.cnode_bits) {
        return Err(ErrorCode::InvalidArgument);
    }
    let mut pending = Pending::new(s);
    pending.charge(0, n as u32)?;
    for (i, f) in frames.iter().enumerate() {
        if !pd.copy_cap(f.slot, first_slot + i as u64, Rights::ReadWrite) {
            for j in 0..i {
                pd.delete_cap(first_slot + j as u64);
            }
            return Err(ErrorCode::InvalidArgument);
        }
    }
    pending.commit(s);
    s.dataspaces[d].value.caps += n as u32;
    Ok(Done.to_words())
}
