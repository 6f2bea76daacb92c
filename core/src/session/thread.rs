//! TCB sessions: threads in the child's PD, each a TCB and an IPC buffer core places and maps,
//! configured like the child's first thread at a priority no higher than the child's own.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;

use sel4_core_protocol::answer::{Answer, Done, TcbCreateReply};
use sel4_core_protocol::limits::PAGE_SIZE;
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle};

use super::pd::Pd;
use super::{handle, serial, Client, Named, Pending, Session, Thread, HANDLE_RECORD};
use crate::kernel::Slot;
use crate::object::ObjectType;

/// A thread of `s`, left stopped. Its IPC buffer takes the lowest of the child's IPC buffer
/// pages no thread has (`pages`).
// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn create(
    pd: &mut impl Pd,
    client: &Client,
    s: &mut Session,
    pages: &mut BTreeSet<u32>,
    id: u32,
    prio: u8,
) -> Result<Words, ErrorCode> {
    if prio > client.prio {
        return Err(ErrorCode::Denied);
    }
    // The lowest free page: the first gap in the set.
    let page = pages.iter().enumerate().find(|&(i, &p)| i as u32 != p).map_or(pages.len() as u32, |(i, _)| i as u32);
    if page >= client.ipc_pages {
        return Err(ErrorCode::NoMemory);
    }
    let ipc_vaddr = client.ipc_base + page as u64 * PAGE_SIZE;
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
    // The page table there is the child's stack's (same 2 MiB region), already charged to it;
    // the page is taken if the child mapped a dataspace there.
    if pd.map_frame(f.slot, ObjectType::Frame4K, ipc_vaddr, CacheAttr::Cached, true).is_err() {
        pending.undo(pd);
        return Err(ErrorCode::InvalidArgument);
    }
    if !pd.thread_configure(t.slot, f.slot, ipc_vaddr, prio) {
        pending.undo(pd);
        return Err(ErrorCode::InvalidArgument);
    }
    pending.commit(s);
    pages.insert(page);
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
pub(super) fn destroy(
    pd: &mut impl Pd,
    s: &mut Session,
    pages: &mut BTreeSet<u32>,
    h: Handle,
) -> Result<Words, ErrorCode> {
    let t = s.threads.remove(&serial(h, Named::Thread)?).ok_or(ErrorCode::InvalidHandle)?;
    pd.thread_suspend(t.tcb.slot);
    s.release(pd, &t.ipc);
    s.release(pd, &t.tcb);
    s.used -= HANDLE_RECORD;
    pages.remove(&t.page);
    Ok(Done.to_words())
}
