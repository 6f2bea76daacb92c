//! CNode sessions: CNodes core places, each with a cap in a slot of the child's CNode the child
//! names.

use alloc::boxed::Box;

use sel4_core_protocol::answer::{Answer, CnodeCreateReply, Done};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{ErrorCode, Handle};

use super::pd::{Pd, Rights};
use super::{handle, serial, Client, Named, Pending, Session, HANDLE_RECORD};
use crate::object::ObjectType;

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn create(
    pd: &mut impl Pd,
    client: &Client,
    s: &mut Session,
    id: u32,
    log2_slots: u8,
    slot: u64,
) -> Result<Words, ErrorCode> {
    // The slot must exist in the child's CNode (the kernel would say FailedLookup).
    if slot >> client.cnode_bits != 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    ObjectType::CNode.object_bits(log2_slots).map_err(|_| ErrorCode::InvalidArgument)?;
    let mut pending = Pending::new(s);
    // The record, and the child's copy of the cap takes a slot of its CNode.
    pending.charge(HANDLE_RECORD, 1)?;
    let p = match pending.place(pd, ObjectType::CNode, log2_slots, None, 0) {
        Ok(p) => p,
        Err(e) => {
            pending.undo(pd);
            return Err(e);
        }
    };
    if !pd.copy_cap(p.slot, slot, Rights::All) {
        // The slot holds a cap already (DeleteFirst): nothing was made.
        pending.undo(pd);
        return Err(ErrorCode::InvalidArgument);
    }
    pending.commit(s);
    s.cnodes.insert(id, Box::new(p));
    Ok(CnodeCreateReply { cnode: handle(Named::Cnode, id) }.to_words())
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn destroy(pd: &mut impl Pd, s: &mut Session, cnode: Handle) -> Result<Words, ErrorCode> {
    let o = s.cnodes.remove(&serial(cnode, Named::Cnode)?).ok_or(ErrorCode::InvalidHandle)?;
    // Revoking the CNode's leaf deletes the child's copy too.
    s.release(pd, &o);
    s.caps_used -= 1;
    s.used -= HANDLE_RECORD;
    Ok(Done.to_words())
}
