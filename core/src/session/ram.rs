//! RAM sessions: dataspaces of physically contiguous frames (the largest that fit, at
//! consecutive addresses core chose), in runs each made by one retype from one untyped
//! (`layout::runs`), mapped into the child with the paging structures they need, their frame
//! caps handed to the child on request.

use alloc::boxed::Box;
use alloc::vec::Vec;

use sel4_core_protocol::answer::{Answer, Done, RamAllocReply};
use sel4_core_protocol::layout::{self, Run};
use sel4_core_protocol::limits::{PAGE_SIZE, VADDR_LIMIT};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle, PhysRange};

use super::mapping::{self, FrameMap};
use super::pd::{Pd, Rights};
use super::{handle, serial, Client, Dataspace, Named, Pending, Session, HANDLE_RECORD};
use crate::cap_space::MAX_RUN_LOG2;
use crate::object::ObjectType;

/// The largest frame this kernel configuration has.
fn max_frame_bits() -> u8 {
    let huge = ObjectType::Frame1G;
    match (huge.into_word(), huge.fixed_bits()) {
        (Some(_), Some(b)) => b,
        _ => ObjectType::Frame2M.fixed_bits().unwrap_or(12),
    }
}

pub(crate) fn frame_type(bits: u8) -> ObjectType {
    if Some(bits) == ObjectType::Frame1G.fixed_bits() {
        ObjectType::Frame1G
    } else if Some(bits) == ObjectType::Frame2M.fixed_bits() {
        ObjectType::Frame2M
    } else {
        ObjectType::Frame4K
    }
}

/// Where a dataspace of `size` bytes goes: as Genode's RAM dataspace factory does, the largest
/// alignment a free block offers first (2^⌊log2 size⌋, so the dataspace is as few runs of as
/// large frames as its size allows), down to the alignment asked for; then a block that spans
/// several boot untypeds.
pub(crate) fn place_block(pd: &mut impl Pd, size: u64, align: u8, range: Option<(u64, u64)>) -> Result<u64, ErrorCode> {
    let natural = (63 - size.leading_zeros() as u8).max(align);
    for a in (align..=natural).rev() {
        if let Ok(b) = pd.find_block(size, a, range) {
            return Ok(b);
        }
    }
    pd.find_span(size, align, range).map_err(|_| ErrorCode::NoMemory)
}

/// Places the frames of `run`; where a run's block is not inside one untyped (a dataspace
/// across boot untypeds), its halves, down to single frames and then smaller frames.
pub(crate) fn place_run(pd: &mut impl Pd, pending: &mut Pending, run: Run) -> Result<(), ErrorCode> {
    // The common case, a run inside one untyped, needs no list of parts.
    match place_one(pd, pending, run)? {
        None => Ok(()),
        Some(parts) => {
            let mut todo = parts;
            while let Some(r) = todo.pop() {
                if let Some(parts) = place_one(pd, pending, r)? {
                    todo.extend(parts);
                }
            }
            Ok(())
        }
    }
}

/// Places the frames of `r`, or says which parts to place instead: its halves, or the frame
/// as frames of the next smaller size (in runs of at most the fan-out), the lower last so it
/// is placed first.
fn place_one(pd: &mut impl Pd, pending: &mut Pending, r: Run) -> Result<Option<Vec<Run>>, ErrorCode> {
    match pending.place(pd, frame_type(r.frame_bits), 0, Some(r.paddr), r.count_log2) {
        Ok(_) => Ok(None),
        Err(ErrorCode::NoMemory) if r.count_log2 > 0 || r.frame_bits > layout::FRAME_BITS[2] => {
            Ok(Some(if r.count_log2 > 0 {
                let half = Run { count_log2: r.count_log2 - 1, ..r };
                alloc::vec![Run { paddr: r.paddr + half.bytes(), ..half }, half]
            } else {
                let mut parts: Vec<Run> = layout::runs(r.paddr, r.bytes(), r.frame_bits - 1, MAX_RUN_LOG2 as u8)
                    .filter(|p| p.frame_bits < r.frame_bits)
                    .collect();
                parts.reverse();
                parts
            }))
        }
        Err(e) => Err(e),
    }
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn alloc(
    pd: &mut impl Pd,
    s: &mut Session,
    id: u32,
    size: u64,
    align_log2: u8,
    cache: CacheAttr,
    range: Option<PhysRange>,
) -> Result<Words, ErrorCode> {
    // Cheap refusals first: the frames alone must fit the quota.
    if size > s.left().0 {
        return Err(ErrorCode::OutOfRamQuota);
    }
    let align = align_log2.max(PAGE_SIZE.trailing_zeros() as u8);
    let base = place_block(pd, size, align, range.map(|r| (r.lo, r.hi)))?;
    let mut pending = Pending::new(s);
    pending.charge(HANDLE_RECORD, 0)?;
    for run in layout::runs(base, size, max_frame_bits(), MAX_RUN_LOG2 as u8) {
        if let Err(e) = place_run(pd, &mut pending, run) {
            pending.undo(pd);
            return Err(e);
        }
    }
    let mut runs = pending.commit(s);
    runs.sort_unstable_by_key(|o| o.paddr);
    let frame_bits = runs.iter().map(|o| (o.each().trailing_zeros()) as u8).max().unwrap_or(12);
    let ds = Dataspace { paddr: base, size, frame_bits, cache, mapped: None, caps: 0, runs };
    s.dataspaces.insert(id, Box::new(ds));
    Ok(RamAllocReply { dataspace: handle(Named::Dataspace, id), paddr: base, frame_bits }.to_words())
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn free(pd: &mut impl Pd, s: &mut Session, dataspace: Handle) -> Result<Words, ErrorCode> {
    let id = serial(dataspace, Named::Dataspace)?;
    let ds = s.dataspaces.remove(&id).ok_or(ErrorCode::InvalidHandle)?;
    // Revoking the frames' leaves unmaps them and deletes the caps handed out.
    for o in ds.runs.iter().rev() {
        s.release(pd, o);
    }
    s.caps_used -= ds.caps;
    s.used -= HANDLE_RECORD;
    Ok(Done.to_words())
}

/// Maps dataspace `dataspace` at `vaddr`. Where `foreign` (paging structures of the child's
/// other sessions cover any of `[vaddr, vaddr + size)`), it is InvalidArgument: closing that
/// session would unmap this dataspace.
// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn map(
    pd: &mut impl Pd,
    s: &mut Session,
    dataspace: Handle,
    vaddr: u64,
    foreign: bool,
) -> Result<Words, ErrorCode> {
    let id = serial(dataspace, Named::Dataspace)?;
    let ds = s.dataspaces.get(&id).ok_or(ErrorCode::InvalidHandle)?;
    let align = (1u64 << ds.frame_bits) - 1;
    if vaddr.checked_add(ds.size).is_none_or(|end| end > VADDR_LIMIT) {
        return Err(ErrorCode::InvalidArgument);
    }
    if ds.mapped.is_some() || vaddr & align != ds.paddr & align || foreign {
        return Err(ErrorCode::InvalidArgument);
    }
    let cache = ds.cache;
    // Taken out while mapping (the session's charge changes meanwhile), put back after.
    let runs = s.dataspaces.get_mut(&id).map(|d| core::mem::take(&mut d.runs)).unwrap_or_default();
    let mut pending = Pending::new(s);
    let mut paging = Vec::new();
    // The frames in address order with where each goes; the first `mapped` of them are mapped.
    let frames = || {
        let base = runs[0].paddr;
        runs.iter().flat_map(move |o| {
            o.slots().enumerate().map(move |(i, slot)| (slot, o.ty, vaddr + (o.paddr - base) + i as u64 * o.each()))
        })
    };
    let mut mapped = 0;
    let mut result = Ok(());
    for (slot, ty, va) in frames() {
        let f = FrameMap { slot, ty, va, cache, writable: true };
        if let Err(e) = mapping::map_frame(pd, &mut pending, &mut paging, f) {
            result = Err(e);
            break;
        }
        mapped += 1;
    }
    if let Err(e) = result {
        // Undo: unmap what was mapped, free the paging structures placed for it.
        for (slot, ty, _) in frames().take(mapped) {
            pd.unmap_frame(slot, ty);
        }
        pending.undo(pd);
        if let Some(d) = s.dataspaces.get_mut(&id) {
            d.runs = runs;
        }
        return Err(e);
    }
    pending.commit(s);
    s.paging.extend(paging);
    if let Some(d) = s.dataspaces.get_mut(&id) {
        d.mapped = Some(vaddr);
        d.runs = runs;
    }
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
    let id = serial(dataspace, Named::Dataspace)?;
    let ds = s.dataspaces.get(&id).ok_or(ErrorCode::InvalidHandle)?;
    let n: u64 = ds.runs.iter().map(|o| 1u64 << o.count_log2).sum();
    if first_slot.checked_add(n).is_none_or(|end| end > 1u64 << client.cnode_bits) {
        return Err(ErrorCode::InvalidArgument);
    }
    let n32 = u32::try_from(n).map_err(|_| ErrorCode::OutOfCapQuota)?;
    let mut pending = Pending::new(s);
    pending.charge(0, n32)?;
    let frames = ds.runs.iter().flat_map(|o| o.slots());
    for (i, slot) in frames.enumerate() {
        if !pd.copy_cap(slot, first_slot + i as u64, Rights::ReadWrite) {
            for j in 0..i {
                pd.delete_cap(first_slot + j as u64);
            }
            return Err(ErrorCode::InvalidArgument);
        }
    }
    pending.commit(s);
    if let Some(d) = s.dataspaces.get_mut(&id) {
        d.caps += n32;
    }
    Ok(Done.to_words())
}
