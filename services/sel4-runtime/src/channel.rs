//! Channels to other services, as the system description declares them (`run/systems/`), and
//! the receive loop of a service that serves them.
//!
//! A service asks for its end of channel `id` with [`Channel::open`] (core says what the end
//! has: call, notify, shared memory). A client [`Channel::call`]s (seL4 Call on the cap core put
//! at `abi::call_slot`, badged with the server's id, so the server knows who calls and nobody
//! can pretend to be another client); either end [`Channel::notify`]s the other (a signal on the
//! peer's notification, badged with the peer's id for the channel: it never blocks, and signals
//! that arrive before the peer waits are kept as one bit per channel, so none is lost and none
//! queues). A server implements [`Handler`] and runs [`serve`]: one receive on its endpoint
//! delivers both its clients' calls and its peers' signals (its notification is bound to its
//! first thread), as in Microkit's `Handler` and rust-sel4's `sel4-microkit`. The handler may
//! call core (sessions, heap growth) and other servers while it serves: the reply owed stays in
//! the thread (`src/api/syscall.c`: only a receive deletes it).
//!
//! Messages: a label and up to [`MAX_WORDS`] words; up to four travel in registers (the
//! kernel's fastpath takes such calls), the rest in the calling thread's IPC buffer, so build a
//! long message right before sending it. Replies with label 0 carry the handler's answer; other
//! labels are the runtime's errors ([`ChannelError`]).
//!
//! What the runtime guarantees: a server's reply never blocks it (seL4's reply does not wait);
//! a client that sends garbage (a length beyond the IPC buffer, caps) gets
//! [`ChannelError::BadRequest`] and the server goes on; a call the server had received when it
//! faulted returns [`ChannelError::Restarted`] once core restarts it (its next instance answers
//! it before anything else), and a call still queued is served by the next instance; a call to
//! a server that ended for good returns [`ChannelError::Gone`] (its endpoint and this end's cap
//! died with it, so the kernel answers); a call to a live server that never replies holds the
//! calling thread: a client calls only servers it trusts to answer (Microkit's rule too), and
//! waits for nobody else.

use sel4::{syscalls, CPtr, MessageInfo, Word};
use sel4_core_protocol::answer::{Answer, ChannelReply};
use sel4_core_protocol::{abi, ErrorCode};

/// Words a message carries at most (`seL4_MsgMaxLength`).
pub const MAX_WORDS: usize = sel4::message_info::MSG_MAX_LENGTH;
/// Words that travel in registers.
const REGISTER_WORDS: usize = 4;

/// Reply labels the runtime uses for its errors, above the kernel's error codes (which label
/// the kernel's own answer to a call on a slot without a cap); the handler's own errors come
/// after them.
const RESTARTED: Word = 0x100;
const BAD_REQUEST: Word = 0x101;
const APP: Word = 0x102;
/// The largest label the kernel carries (`seL4_MessageInfo`'s label field: 52 bits).
const LABEL_LIMIT: Word = 1 << 52;

/// A message: its label and words. The first four words are here; the rest are in the IPC
/// buffer of the thread that received or is about to send it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub label: Word,
    len: usize,
    regs: [Word; REGISTER_WORDS],
}

impl Message {
    /// A message of `label` and `words` (at most [`MAX_WORDS`]; more are cut, which
    /// [`Message::len`] shows). Words past the fourth go into this thread's IPC buffer now.
    pub fn new(label: Word, words: &[Word]) -> Message {
        let len = words.len().min(MAX_WORDS);
        let mut regs = [0; REGISTER_WORDS];
        for (i, &w) in words[..len].iter().enumerate() {
            if i < REGISTER_WORDS {
                regs[i] = w;
            } else {
                sel4::set_message_word(i, w);
            }
        }
        Message { label, len, regs }
    }

    /// A message of up to four words, all in registers (the fastpath's).
    #[inline]
    pub fn short(label: Word, regs: [Word; REGISTER_WORDS], len: usize) -> Message {
        Message { label, len: len.min(REGISTER_WORDS), regs }
    }

    /// Words it carries.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its words, when they all travel in registers (at most four, as every request of a
    /// short protocol does); `None` for a longer message.
    #[inline]
    pub fn short_words(&self) -> Option<&[Word]> {
        self.regs.get(..self.len)
    }

    /// Word `i` (0 past its length); words past the fourth come from this thread's IPC buffer.
    #[inline]
    pub fn word(&self, i: usize) -> Word {
        if i >= self.len {
            0
        } else if i < REGISTER_WORDS {
            self.regs[i]
        } else {
            buffered(i)
        }
    }

    #[inline]
    fn info(&self, label: Word) -> MessageInfo {
        MessageInfo::new(label, 0, 0, self.len)
    }
}

/// Word `i` of the message in this thread's IPC buffer (out of line: the rare case).
#[inline(never)]
fn buffered(i: usize) -> Word {
    sel4::message_word(i).unwrap_or(0)
}

/// The length field of a message info word (`seL4_MessageInfo`: its lowest 7 bits).
const LENGTH_MASK: Word = 0x7f;
/// Its extra caps and unwrapped caps fields (the bits above the length, below the label).
const CAPS_MASK: Word = 0xf80;
const _: () = assert!(MessageInfo::new(0, 0b111, 0b11, 0).into_word() == CAPS_MASK);
const _: () = assert!(MessageInfo::new(0, 0, 0, MAX_WORDS).into_word() == MAX_WORDS as Word);

/// What a reply other than a plain answer means.
#[cold]
fn refusal(info: MessageInfo) -> ChannelError {
    match info.label() {
        RESTARTED => ChannelError::Restarted,
        BAD_REQUEST => ChannelError::BadRequest,
        l if l >= APP => ChannelError::Refused(l - APP),
        // The kernel's error: the cap is gone (its server's endpoint with it).
        l if sel4::Error::decode(l, |_| 0).is_some() => ChannelError::Gone,
        _ => ChannelError::MalformedReply,
    }
}

/// Why a channel operation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// The system description gives this service no such channel end, or not that part of it.
    NotGiven,
    /// The server faulted while it held this call; core restarted it, and its new instance
    /// (which has lost what the old one kept) answered this.
    Restarted,
    /// The server's runtime found the message malformed (too long, with caps) or the handler
    /// did not know its label.
    BadRequest,
    /// The handler's own error code.
    Refused(Word),
    /// The server ended for good: core freed its endpoint, and with it this end's cap (the
    /// kernel answers the call itself).
    Gone,
    /// A reply no runtime sends.
    MalformedReply,
}

impl core::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChannelError::NotGiven => f.write_str("no such channel end"),
            ChannelError::Restarted => f.write_str("the server restarted"),
            ChannelError::BadRequest => f.write_str("bad request"),
            ChannelError::Refused(code) => write!(f, "refused ({code})"),
            ChannelError::Gone => f.write_str("the server is gone"),
            ChannelError::MalformedReply => f.write_str("malformed reply"),
        }
    }
}

/// A service's end of a channel.
#[derive(Copy, Clone, Debug)]
pub struct Channel {
    id: u8,
    end: ChannelReply,
}

impl Channel {
    /// This service's end of channel `id`, as core describes it.
    pub fn open(id: u8) -> Result<Channel, ChannelError> {
        let request = sel4_core_protocol::Request::Channel { id: id as u64 };
        let r = crate::call_core(&request);
        if r.info.label() == ErrorCode::Denied as Word || r.info.label() == ErrorCode::InvalidArgument as Word {
            return Err(ChannelError::NotGiven);
        }
        let len = r.info.length().min(REGISTER_WORDS);
        let end = ChannelReply::from_words(&r.mrs[..len]).filter(|_| r.info.label() == 0);
        Ok(Channel { id, end: end.ok_or(ChannelError::MalformedReply)? })
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    /// Whether this end calls the peer (it is the client).
    pub fn calls(&self) -> bool {
        self.end.calls
    }

    /// Whether the id is an interrupt's (`crate::device::Irq`), not a channel's.
    pub fn is_irq(&self) -> bool {
        self.end.irq
    }

    /// Whether the peer calls this end (it serves the channel in [`serve`]).
    pub fn serves(&self) -> bool {
        self.end.serves
    }

    /// Calls the server with `message` and waits for its reply.
    #[inline]
    pub fn call(&self, message: &Message) -> Result<Message, ChannelError> {
        if !self.end.calls {
            return Err(ChannelError::NotGiven);
        }
        let dest = CPtr::from_bits(abi::call_slot(self.id as u64));
        let r = syscalls::call(dest, message.info(message.label), message.regs);
        // A good reply has label 0 and no caps: one test of the word tells.
        let info = r.info.into_word();
        if info & !LENGTH_MASK == 0 {
            return Ok(Message { label: 0, len: info as usize, regs: r.mrs });
        }
        Err(refusal(r.info))
    }

    /// Signals the peer; never blocks.
    #[inline]
    pub fn notify(&self) -> Result<(), ChannelError> {
        if !self.end.notify {
            return Err(ChannelError::NotGiven);
        }
        // NBSend: a signal never waits, and a peer gone for good makes it a no-op rather than
        // this service's fault (`handleInvocation` faults only blocking sends).
        syscalls::nb_send(CPtr::from_bits(abi::notify_slot(self.id as u64)), MessageInfo::new(0, 0, 0, 0), [0; 4]);
        Ok(())
    }

    /// The channel's shared memory in this service, if it has some.
    pub fn shared(&self) -> Option<Shared> {
        (self.end.shared_size > 0).then_some(Shared { at: self.end.shared_at, len: self.end.shared_size as usize })
    }
}

/// A channel's shared dataspace as this service maps it. The peer may write it at any time:
/// the channel's calls and signals are what order the two ends' accesses.
#[derive(Copy, Clone, Debug)]
pub struct Shared {
    at: u64,
    len: usize,
}

impl Shared {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its address in this service.
    pub fn address(&self) -> u64 {
        self.at
    }

    /// Copies `bytes` in at `offset`; `false` (and nothing copied) if they do not fit.
    pub fn write(&self, offset: usize, bytes: &[u8]) -> bool {
        if offset.checked_add(bytes.len()).is_none_or(|end| end > self.len) {
            return false;
        }
        // SAFETY: core mapped `len` bytes at `at` writable in this service for its life (the
        // channel's dataspace), and the range is within them (checked above); no Rust reference
        // to that memory exists (this type hands out copies only).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), (self.at as usize + offset) as *mut u8, bytes.len()) };
        true
    }

    /// Copies `out.len()` bytes from `offset` out; `false` (and nothing copied) if they do not
    /// fit.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> bool {
        if offset.checked_add(out.len()).is_none_or(|end| end > self.len) {
            return false;
        }
        // SAFETY: as in `write`: mapped, in range, and only copied out.
        unsafe {
            core::ptr::copy_nonoverlapping((self.at as usize + offset) as *const u8, out.as_mut_ptr(), out.len())
        };
        true
    }
}

/// Waits for a signal from any peer (a service that does not [`serve`]); the ids of the
/// channels signalled since the last wait, one bit each.
pub fn wait() -> u64 {
    syscalls::recv(CPtr::from_bits(abi::NOTIFICATION)).badge
}

/// What a serving service does with what arrives, in its [`serve`] loop.
pub trait Handler {
    /// A peer signalled on `channel` (once per channel however often it signalled since the
    /// last receive).
    fn notified(&mut self, channel: u8) {
        let _ = channel;
    }

    /// A client called on `channel` with `message`: the reply, or an error code of the
    /// handler's ([`ChannelError::Refused`] at the client), or `None` when the label is no
    /// request it knows ([`ChannelError::BadRequest`] at the client).
    fn called(&mut self, channel: u8, message: &Message) -> Result<Message, Option<Word>>;

    /// Whether to stop serving (checked after each message; the last reply is sent first).
    fn done(&self) -> bool {
        false
    }
}

/// Serves calls and signals with `handler` until it is done. A service restarted by core
/// first answers the call its previous instance held, with [`ChannelError::Restarted`].
pub fn serve(handler: &mut impl Handler) {
    // A service that serves calls receives on its endpoint (which also brings its bound
    // notification's signals); one that only gets signals waits on its notification.
    let serves = Channel::open_any_serving();
    let src = CPtr::from_bits(if serves { abi::RECEIVE_ENDPOINT } else { abi::NOTIFICATION });
    // The previous instance's unanswered call, if any, is answered by the first receive.
    let mut m = if serves && crate::restarts() > 0 {
        syscalls::reply_recv(src, MessageInfo::new(RESTARTED, 0, 0, 0), [0; REGISTER_WORDS])
    } else {
        syscalls::recv(src)
    };
    loop {
        if m.badge & abi::CALL_BADGE != 0 {
            let channel = (m.badge & !abi::CALL_BADGE) as u8;
            let info = m.info.into_word();
            let (info, regs) = if info & CAPS_MASK != 0 {
                (MessageInfo::new(BAD_REQUEST, 0, 0, 0), [0; REGISTER_WORDS])
            } else {
                let message = Message { label: m.info.label(), len: (info & LENGTH_MASK) as usize, regs: m.mrs };
                match handler.called(channel, &message) {
                    Ok(reply) => (reply.info(0), reply.regs),
                    Err(Some(code)) => {
                        (MessageInfo::new((APP + code).min(LABEL_LIMIT - 1), 0, 0, 0), [0; REGISTER_WORDS])
                    }
                    Err(None) => (MessageInfo::new(BAD_REQUEST, 0, 0, 0), [0; REGISTER_WORDS]),
                }
            };
            if handler.done() {
                syscalls::reply(info, regs);
                return;
            }
            // The answer goes with the next receive (the kernel's fastpath takes both).
            m = syscalls::reply_recv(src, info, regs);
        } else {
            let mut bits = m.badge;
            while bits != 0 {
                handler.notified(bits.trailing_zeros() as u8);
                bits &= bits - 1;
            }
            if handler.done() {
                return;
            }
            m = syscalls::recv(src);
        }
    }
}

impl Channel {
    /// Whether this service serves any call channel: core gave it a receive endpoint.
    fn open_any_serving() -> bool {
        (0..IDS).any(|id| Channel::open(id).is_ok_and(|c| c.serves()))
    }

    /// Every channel end this service has, by id.
    pub fn all() -> alloc::vec::Vec<Channel> {
        (0..IDS).filter_map(|id| Channel::open(id).ok()).filter(|c| !c.is_irq()).collect()
    }
}

/// Channel ids are below this (`abi::CHANNEL_IDS`).
pub const IDS: u8 = abi::CHANNEL_IDS as u8;
