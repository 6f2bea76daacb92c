//! TCB sessions: threads in the child's PD, each a TCB and an IPC buffer core places and maps
//! (in the child's IPC region, [`ipc_region`]), configured like the child's first thread at a
//! priority no higher than the child's own.

use alloc::boxed::Box;
use alloc::vec::Vec;

use sel4_core_protocol::answer::{Answer, Done, TcbCreateReply};
use sel4_core_protocol::limits::{PAGE_SIZE, VADDR_LIMIT};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle};

use super::mapping::{self, FrameMap};
use super::pd::Pd;
use super::{handle, serial, Client, Ipc, Named, Pending, Session, Thread, HANDLE_RECORD};
use crate::kernel::Slot;
use crate::object::ObjectType;

/// Where threads' IPC buffers go in a child's VSpace: the last 512 GiB of its address space
/// (one PML4 entry), one page per thread by its index (the lowest free). Dataspaces are not
/// mapped there (`Sessions::map`), so no session's paging structure ever covers it.
pub fn ipc_region() -> (u64, u64) {
    let span = 1u64 << ObjectType::Pdpt.vspan_bits().unwrap_or(39);
    (VADDR_LIMIT - span, VADDR_LIMIT)
}

/// A thread of `s`, left stopped. Its IPC buffer takes the lowest of the child's IPC buffer
/// pages no thread has (`ipc.pages`); the paging structures above it are the child's
/// (`ipc.paging`), charged to its budget outside its sessions (what is left of it is
/// `client.ram_left`), and stay until the child goes.
// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn create(
    pd: &mut impl Pd,
    client: &Client,
    s: &mut Session,
    ipc: &mut Ipc,
    id: u32,
    prio: u8,
) -> Result<Words, ErrorCode> {
    if prio > client.prio {
        return Err(ErrorCode::Denied);
    }
    // The lowest free page: the first gap in the set.
    let pages = &ipc.pages;
    let page = pages.iter().enumerate().find(|&(i, &p)| i as u32 != p).map_or(pages.len() as u32, |(i, _)| i as u32);
    let (base, end) = ipc_region();
    let ipc_vaddr = base + page as u64 * PAGE_SIZE;
    if ipc_vaddr >= end {
        return Err(ErrorCode::NoMemory);
    }
    let mut pending = Pending::new(s);
    let made = pending.charge(HANDLE_RECORD, 0).and_then(|()| {
        let t = pending.place(pd, ObjectType::Tcb, 0, None, 0)?;
        let f = pending.place(pd, ObjectType::Frame4K, 0, None, 0)?;
        Ok((t, f))
    });
    let (t, f) = match made {
        Ok(tf) => tf,
        Err(e) => {
            pending.undo(pd);
            return Err(e);
        }
    };
    // The child's own: paging structures the region lacks for this page.
    let mut child = Pending::with_left(client.ram_left, client.caps_left.min(u32::MAX as u64) as u32);
    let mut paging = Vec::new();
    let map =
        FrameMap { slot: f.slot, ty: ObjectType::Frame4K, va: ipc_vaddr, cache: CacheAttr::Cached, writable: true };
    let mut result = mapping::map_frame(pd, &mut child, &mut paging, map);
    if result.is_ok() && !pd.thread_configure(t.slot, f.slot, ipc_vaddr, prio) {
        pd.unmap_frame(f.slot, ObjectType::Frame4K);
        result = Err(ErrorCode::InvalidArgument);
    }
    if let Err(e) = result {
        child.undo(pd);
        pending.undo(pd);
        return Err(e);
    }
    pending.commit(s);
    let (_, bytes, caps) = child.finish();
    ipc.paging.extend(paging);
    (ipc.bytes, ipc.caps) = (ipc.bytes + bytes, ipc.caps + caps);
    ipc.pages.insert(page);
    s.threads.insert(id, Box::new(Thread { tcb: t, ipc: f, page }));
    Ok(TcbCreateReply { thread: handle(Named::Thread, id), ipc_buffer: ipc_vaddr }.to_words())
}

/// Applies `op` to thread `h`'s TCB; a refusal is InvalidArgument.
pub(super) fn act(s: &mut Session, h: Handle, op: impl FnOnce(Slot) -> bool) -> Result<Words, ErrorCode> {
    let t = s.threads.get(&serial(h, Named::Thread)?).ok_or(ErrorCode::InvalidHandle)?;
    if op(t.tcb.slot) {
        Ok(Done.to_words())
    } else {
        Err(ErrorCode::InvalidArgument)
    }
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn destroy(pd: &mut impl Pd, s: &mut Session, ipc: &mut Ipc, h: Handle) -> Result<Words, ErrorCode> {
    let t = s.threads.remove(&serial(h, Named::Thread)?).ok_or(ErrorCode::InvalidHandle)?;
    pd.thread_suspend(t.tcb.slot);
    s.release(pd, &t.ipc);
    s.release(pd, &t.tcb);
    s.used -= HANDLE_RECORD;
    ipc.pages.remove(&t.page);
    Ok(Done.to_words())
}
