//! CNode sessions: CNodes core places, each with a cap in a slot of the child's CNode the child
//! names.

use sel4_core_protocol::answer::{Answer, CnodeCreateReply, Done};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{ErrorCode, Handle};

use super::pd::{Pd, Rights};
use super::{Client, Entry, Named, Owner, Pending, Session};
use crate::object::ObjectType;

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn create(
    pd: &mut impl Pd,
    client: &Client,
    s: &mut Session,
    log2_slots: u8,
    slot: u64,
) -> Result<Words, ErrorCode> {
    // The slot must exist in the child's CNode (the kernel would say FailedLookup).
    if slot >> client.cnode_bits != 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    ObjectType::CNode.object_bits(log2_slots).map_err(|_| ErrorCode::InvalidArgument)?;
    let i = Entry::free_index(&s.cnodes).ok_or(ErrorCode::OutOfRecords)?;
    let mut pending = Pending::new(s);
    // The child's copy of the cap takes a slot of its CNode.
    pending.charge(0, 1)?;
    let placed = pending.place(pd, ObjectType::CNode, log2_slots, None, Owner::Cnode(i as u8));
    let p = match placed {
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
    Ok(CnodeCreateReply { cnode: Entry::fill(&mut s.cnodes, i, (), Named::Cnode, s.index) }.to_words())
}

// Apart from `Sessions::serve`: its locals stay off the stack of other requests.
#[inline(never)]
pub(super) fn destroy(pd: &mut impl Pd, s: &mut Session, cnode: Handle) -> Result<Words, ErrorCode> {
    let (i, ()) = Entry::find(&s.cnodes, cnode, Named::Cnode, s.index)?;
    // Revoking the CNode's leaf deletes the child's copy too.
    s.release(pd, Some(Owner::Cnode(i as u8)));
    s.caps_used -= 1;
    s.cnodes[i].live = false;
    Ok(Done.to_words())
}
