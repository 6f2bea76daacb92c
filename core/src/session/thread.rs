//! TCB sessions: threads in the child's PD, each a TCB and an IPC buffer core places and maps,
//! configured like the child's first thread at a priority no higher than the child's own.

use sel4_core_protocol::answer::{Answer, Done, TcbCreateReply};
use sel4_core_protocol::limits::PAGE_SIZE;
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle};

use super::pd::Pd;
use super::{Client, Entry, Named, Owner, Pending, Session, Thread, MAX_THREADS};
use crate::kernel::Slot;
use crate::object::ObjectType;

/// A thread of `s` (session number `index` of the child), left stopped.
// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn create(
    pd: &mut impl Pd,
    client: &Client,
    s: &mut Session,
    index: usize,
    prio: u8,
) -> Result<Words, ErrorCode> {
    if prio > client.prio {
        return Err(ErrorCode::Denied);
    }
    let i = Entry::free_index(&s.threads).ok_or(ErrorCode::OutOfRecords)?;
    let owner = Owner::Thread(i as u8);
    let ipc_vaddr = client.ipc_base + ((index * MAX_THREADS + i) as u64) * PAGE_SIZE;
    let mut pending = Pending::new(s);
    let made = pending.place(pd, ObjectType::Tcb, 0, None, owner).and_then(|t| {
        let f = pending.place(pd, ObjectType::Frame4K, 0, None, owner)?;
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
    if pd.map_frame(f.slot, ObjectType::Frame4K, ipc_vaddr, CacheAttr::Cached).is_err() {
        pending.undo(pd);
        return Err(ErrorCode::InvalidArgument);
    }
    if !pd.thread_configure(t.slot, f.slot, ipc_vaddr, prio) {
        pending.undo(pd);
        return Err(ErrorCode::InvalidArgument);
    }
    pending.commit(s);
    let thread = Entry::fill(&mut s.threads, i, Thread { tcb: t.slot }, Named::Thread, s.index);
    Ok(TcbCreateReply { thread, ipc_buffer: ipc_vaddr }.to_words())
}

/// Applies `op` to thread `h`'s TCB; a refusal is InvalidArgument.
pub(super) fn act(s: &mut Session, h: Handle, op: impl FnOnce(Slot) -> bool) -> Result<Words, ErrorCode> {
    let (_, t) = Entry::find(&s.threads, h, Named::Thread, s.index)?;
    if op(t.tcb) {
        Ok(Done.to_words())
    } else {
        Err(ErrorCode::InvalidArgument)
    }
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn destroy(pd: &mut impl Pd, s: &mut Session, h: Handle) -> Result<Words, ErrorCode> {
    let (i, t) = Entry::find(&s.threads, h, Named::Thread, s.index)?;
    pd.thread_suspend(t.tcb);
    s.release(pd, Some(Owner::Thread(i as u8)));
    s.threads[i].live = false;
    Ok(Done.to_words())
}
