//! core's receive/reply loop: one endpoint, one handler that owns what the messages mean (in
//! the spirit of `sel4-microkit`'s `run_handler`). core never calls or sends to a child and
//! waits: it replies or drops. The answer to a message goes with the next receive in one
//! `ReplyRecv` (the kernel's fastpath takes both halves when the messages fit its registers).

use sel4::{cap_type, syscalls, Cap, MessageInfo, Word};

use crate::kernel::Slot;
use crate::root::error::Error;
use crate::root::state::Core;

/// A reply: its message info and its register words.
pub type Answer = (MessageInfo, [Word; 4]);

/// What the loop serves.
pub trait Handler {
    /// Handles one message (`badge` as the endpoint cap delivered it); the answer owed to its
    /// sender, or `None` when it is owed none (the sender is gone, or never was ours).
    fn received(&mut self, core: &mut Core, m: &syscalls::Received) -> Result<Option<Answer>, Error>;
    /// Whether there is nothing left to serve.
    fn done(&self) -> bool;
}

/// Receives on `endpoint` (in core's CSpace) and hands every message to `handler` until it is
/// done.
pub fn run(core: &mut Core, endpoint: Slot, handler: &mut impl Handler) -> Result<(), Error> {
    let ep = Cap::<cap_type::Endpoint>::from_bits(endpoint.0 as Word).cptr();
    let mut answer: Option<Answer> = None;
    while !handler.done() {
        let m = match answer.take() {
            Some((info, mrs)) => syscalls::reply_recv(ep, info, mrs),
            None => syscalls::recv(ep),
        };
        answer = handler.received(core, &m)?;
    }
    // Nothing is left to serve, so no answer is owed; send one anyway rather than drop it.
    if let Some((info, mrs)) = answer {
        syscalls::reply(info, mrs);
    }
    Ok(())
}
