//! Requests a child sends core: a label and up to [`MAX_WORDS`] words; [`Request::decode`]
//! checks every field of any label and words and gives a request or why there is none.
//!
//! The rule: an unknown label, or a number of words the label does not take, is
//! [`ErrorCode::InvalidRequest`] (the message is not a request at all; a log request's byte count
//! counts as its length); a request whose words are all there but whose field is out of range,
//! has reserved bits set or is inconsistent with another field is
//! [`ErrorCode::InvalidArgument`]. Only what needs no state is checked here; core checks the rest
//! (handles, quotas, slots in use, overlaps) and answers the other error codes.
//!
//! Layout: a request to a session carries in word 0 the session handle (bits 0..32) and in bits
//! 32..64 the object handle it acts on, or small fields, or nothing (then zero); wider fields
//! follow in words 1.. . Each [`Label`] documents its words.

use crate::abi::FIRST_FREE_SLOT;
use crate::field::{CacheAttr, Handle, PhysRange, SessionKind};
use crate::limits::{
    MAX_ALIGN_LOG2, MAX_CNODE_LOG2_SLOTS, MAX_PRIO, MIN_CNODE_LOG2_SLOTS, PAGE_SIZE, STACK_ALIGN, VADDR_LIMIT,
};
use crate::reply::ErrorCode;
use crate::MAX_WORDS;

/// Bytes a log request carries (three words after the length).
pub const LOG_BYTES: usize = 8 * (MAX_WORDS - 1);

/// The message label of each request, with its words (`s` = session handle, `x << 32` = a field
/// in bits 32..64 of word 0).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Label {
    /// Text for core's log: word 0 = byte count (at most [`LOG_BYTES`]), words 1.. = the bytes,
    /// little-endian (as many words as the count needs).
    Log = 1,
    /// The child is done: word 0 = its exit code. Core answers by reclaiming it.
    Exit = 2,
    /// Open a session: `[kind, ram_quota, cap_quota]`; the quotas move from the child's budget
    /// to the session (RAM in bytes, caps in slots; `cap_quota` < 2^32). Reply: the session.
    Open = 3,
    /// Close a session of any kind: `[s]`; its objects go and what is left of its quota moves
    /// back.
    Close = 4,
    /// Allocate a dataspace: `[s | align_log2 << 32 | cache << 40, size]`, or with a physical
    /// range `[.., size, lo, hi]`; bits 48..64 of word 0 are reserved. Reply: dataspace,
    /// physical address, log2 of its largest frame.
    RamAlloc = 5,
    /// Map a dataspace in the client's VSpace: `[s | dataspace << 32, vaddr]`.
    RamMap = 6,
    /// Copy a dataspace's frame caps to the client's slots `first_slot..`, one per frame in
    /// address order: `[s | dataspace << 32, first_slot]`.
    RamCaps = 7,
    /// Free a dataspace (unmapping it, deleting the caps handed out): `[s | dataspace << 32]`.
    RamFree = 8,
    /// Create a CNode of 2^log2_slots slots and put a cap to it in the client's `slot`:
    /// `[s | log2_slots << 32, slot]`. Reply: the CNode.
    CnodeCreate = 9,
    /// Destroy a CNode: `[s | cnode << 32]`.
    CnodeDestroy = 10,
    /// Create a thread in the client's PD at priority `prio`: `[s | prio << 32]`. Reply: the
    /// thread and the virtual address of its IPC buffer.
    TcbCreate = 11,
    /// Set a stopped thread's registers: `[s | thread << 32, entry, stack, arg]` (`arg` in
    /// `rdi`).
    TcbSetup = 12,
    /// Start a thread: `[s | thread << 32]`.
    TcbStart = 13,
    /// Stop a thread: `[s | thread << 32]`.
    TcbStop = 14,
    /// Destroy a thread: `[s | thread << 32]`.
    TcbDestroy = 15,
    /// What a session of any kind is charged: `[s]`. Reply: its RAM quota, RAM used, and cap
    /// quota and cap slots used.
    Usage = 16,
    /// Text for core's log from the child's log buffer (the page core maps at
    /// [`abi::LOG_BUFFER`](crate::abi::LOG_BUFFER) in the child and in core): `[len]`, the
    /// first `len` bytes (at most [`LOG_BUFFER_BYTES`](crate::abi::LOG_BUFFER_BYTES)).
    LogBuffer = 17,
    /// What the child's end of channel `id` is (`[id]`, an id below
    /// [`abi::CHANNEL_IDS`](crate::abi::CHANNEL_IDS)). Reply: [`ChannelReply`](crate::answer::ChannelReply);
    /// [`ErrorCode::Denied`] when the system description gives the child no such end.
    Channel = 18,
    /// The child's `index`-th grant of device `kind` (0: an I/O port range, 1: device memory):
    /// `[kind, index]`. Reply: [`DeviceReply`](crate::answer::DeviceReply); [`ErrorCode::Denied`]
    /// when the system description grants no such thing.
    Device = 19,
    /// The child handled the interrupt it was granted as channel `id`: `[id]`. core lets it
    /// come again (`seL4_IRQHandler_Ack`). [`ErrorCode::Denied`] for an id that is no granted
    /// interrupt, [`ErrorCode::InvalidArgument`] when none of that interrupt is outstanding.
    Ack = 20,
}

impl Label {
    pub const ALL: [Label; 20] = [
        Label::Log,
        Label::Exit,
        Label::Open,
        Label::Close,
        Label::RamAlloc,
        Label::RamMap,
        Label::RamCaps,
        Label::RamFree,
        Label::CnodeCreate,
        Label::CnodeDestroy,
        Label::TcbCreate,
        Label::TcbSetup,
        Label::TcbStart,
        Label::TcbStop,
        Label::TcbDestroy,
        Label::Usage,
        Label::LogBuffer,
        Label::Channel,
        Label::Device,
        Label::Ack,
    ];

    pub fn from_word(w: u64) -> Option<Label> {
        Self::ALL.into_iter().find(|l| *l as u64 == w)
    }

    /// The kind of session the request's session handle must name (`None`: no session, or
    /// [`Label::Close`], which takes any kind).
    pub fn session_kind(self) -> Option<SessionKind> {
        match self {
            Label::Log
            | Label::LogBuffer
            | Label::Channel
            | Label::Device
            | Label::Ack
            | Label::Exit
            | Label::Open
            | Label::Close
            | Label::Usage => None,
            Label::RamAlloc | Label::RamMap | Label::RamCaps | Label::RamFree => Some(SessionKind::Ram),
            Label::CnodeCreate | Label::CnodeDestroy => Some(SessionKind::Cnode),
            Label::TcbCreate | Label::TcbSetup | Label::TcbStart | Label::TcbStop | Label::TcbDestroy => {
                Some(SessionKind::Tcb)
            }
        }
    }
}

/// A request, decoded. Handles are checked by core; every other field by [`Request::validate`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Log {
        len: u8,
        bytes: [u8; LOG_BYTES],
    },
    /// The first `len` bytes of the log buffer.
    LogBuffer {
        len: u64,
    },
    Exit {
        code: u64,
    },
    /// The child's end of channel `id`.
    Channel {
        id: u64,
    },
    /// The child's `index`-th grant of device `kind`.
    Device {
        kind: DeviceKind,
        index: u64,
    },
    /// The interrupt granted as `id` was handled.
    Ack {
        id: u64,
    },
    Open {
        kind: SessionKind,
        ram_quota: u64,
        cap_quota: u32,
    },
    Close {
        session: Handle,
    },
    Usage {
        session: Handle,
    },
    /// `size` bytes (a non-zero multiple of 4 KiB), physically contiguous, at an address that is
    /// a multiple of 2^align_log2 (any dataspace is page-aligned, so below 12 adds nothing) and,
    /// with a range, such that the whole dataspace lies in it.
    RamAlloc {
        session: Handle,
        size: u64,
        align_log2: u8,
        cache: CacheAttr,
        range: Option<PhysRange>,
    },
    /// `vaddr` is 4 KiB aligned and below 2^47; core also checks it against the dataspace's
    /// frames and size and the client's existing mappings.
    RamMap {
        session: Handle,
        dataspace: Handle,
        vaddr: u64,
    },
    /// `first_slot` is at or above [`FIRST_FREE_SLOT`]; the slots below are core's.
    RamCaps {
        session: Handle,
        dataspace: Handle,
        first_slot: u64,
    },
    RamFree {
        session: Handle,
        dataspace: Handle,
    },
    /// `log2_slots` in [`MIN_CNODE_LOG2_SLOTS`]..=[`MAX_CNODE_LOG2_SLOTS`]; `slot` at or above
    /// [`FIRST_FREE_SLOT`].
    CnodeCreate {
        session: Handle,
        log2_slots: u8,
        slot: u64,
    },
    CnodeDestroy {
        session: Handle,
        cnode: Handle,
    },
    /// Core refuses a priority above the client's own with [`ErrorCode::Denied`].
    TcbCreate {
        session: Handle,
        prio: u8,
    },
    /// `entry` below 2^47; `stack` at most 2^47 and 16-byte aligned (the first thread's ABI).
    TcbSetup {
        session: Handle,
        thread: Handle,
        entry: u64,
        stack: u64,
        arg: u64,
    },
    TcbStart {
        session: Handle,
        thread: Handle,
    },
    TcbStop {
        session: Handle,
        thread: Handle,
    },
    TcbDestroy {
        session: Handle,
        thread: Handle,
    },
}

/// What a [`Request::Device`] asks about.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum DeviceKind {
    /// A range of I/O ports (its cap at `abi::port_slot`).
    Ports = 0,
    /// Device memory core mapped in the child.
    Memory = 1,
}

impl DeviceKind {
    pub fn from_word(w: u64) -> Option<DeviceKind> {
        [DeviceKind::Ports, DeviceKind::Memory].into_iter().find(|k| *k as u64 == w)
    }
}

/// Word 0 of a session request: the session handle and the upper half.
fn join(session: Handle, high: u32) -> u64 {
    session.to_word() | (high as u64) << 32
}

fn split(word: u64) -> (Handle, u32) {
    (Handle(word as u32), (word >> 32) as u32)
}

/// Word 0 of a session request whose upper half is reserved.
fn session_only(word: u64) -> Result<Handle, ErrorCode> {
    Handle::from_word(word).ok_or(ErrorCode::InvalidArgument)
}

// A priority is a byte, so any `prio` field is at most the kernel's highest.
const _: () = assert!(MAX_PRIO == u8::MAX);

/// RAM allocation's small fields in the upper half of word 0.
const ALIGN_SHIFT: u32 = 0;
const CACHE_SHIFT: u32 = 8;
const RAM_ALLOC_RESERVED_SHIFT: u32 = 16;

impl Request {
    /// A log request for the first [`LOG_BYTES`] of `text` (the caller sends the rest in more).
    pub fn log(text: &[u8]) -> Request {
        let len = text.len().min(LOG_BYTES);
        let mut bytes = [0; LOG_BYTES];
        bytes[..len].copy_from_slice(&text[..len]);
        Request::Log { len: len as u8, bytes }
    }

    pub fn label(&self) -> Label {
        match self {
            Request::Log { .. } => Label::Log,
            Request::LogBuffer { .. } => Label::LogBuffer,
            Request::Channel { .. } => Label::Channel,
            Request::Device { .. } => Label::Device,
            Request::Ack { .. } => Label::Ack,
            Request::Exit { .. } => Label::Exit,
            Request::Open { .. } => Label::Open,
            Request::Close { .. } => Label::Close,
            Request::Usage { .. } => Label::Usage,
            Request::RamAlloc { .. } => Label::RamAlloc,
            Request::RamMap { .. } => Label::RamMap,
            Request::RamCaps { .. } => Label::RamCaps,
            Request::RamFree { .. } => Label::RamFree,
            Request::CnodeCreate { .. } => Label::CnodeCreate,
            Request::CnodeDestroy { .. } => Label::CnodeDestroy,
            Request::TcbCreate { .. } => Label::TcbCreate,
            Request::TcbSetup { .. } => Label::TcbSetup,
            Request::TcbStart { .. } => Label::TcbStart,
            Request::TcbStop { .. } => Label::TcbStop,
            Request::TcbDestroy { .. } => Label::TcbDestroy,
        }
    }

    /// The session the request acts in, if any (its kind: [`Label::session_kind`]).
    pub fn session(&self) -> Option<Handle> {
        match *self {
            Request::Log { .. }
            | Request::LogBuffer { .. }
            | Request::Channel { .. }
            | Request::Device { .. }
            | Request::Ack { .. }
            | Request::Exit { .. }
            | Request::Open { .. } => None,
            Request::Close { session }
            | Request::Usage { session }
            | Request::RamAlloc { session, .. }
            | Request::RamMap { session, .. }
            | Request::RamCaps { session, .. }
            | Request::RamFree { session, .. }
            | Request::CnodeCreate { session, .. }
            | Request::CnodeDestroy { session, .. }
            | Request::TcbCreate { session, .. }
            | Request::TcbSetup { session, .. }
            | Request::TcbStart { session, .. }
            | Request::TcbStop { session, .. }
            | Request::TcbDestroy { session, .. } => Some(session),
        }
    }

    /// Label and words of the message. Total: a request that does not validate encodes to the
    /// message core refuses with the same error.
    pub fn encode(&self) -> (u64, [u64; MAX_WORDS], usize) {
        let mut w = [0u64; MAX_WORDS];
        let n = match *self {
            Request::Log { len, bytes } => {
                w[0] = len as u64;
                let sent = (len as usize).min(LOG_BYTES);
                for (i, chunk) in bytes[..sent].chunks(8).enumerate() {
                    let mut b = [0u8; 8];
                    b[..chunk.len()].copy_from_slice(chunk);
                    w[1 + i] = u64::from_le_bytes(b);
                }
                1 + sent.div_ceil(8)
            }
            Request::Exit { code } => {
                w[0] = code;
                1
            }
            Request::LogBuffer { len } => {
                w[0] = len;
                1
            }
            Request::Channel { id } | Request::Ack { id } => {
                w[0] = id;
                1
            }
            Request::Device { kind, index } => {
                w[..2].copy_from_slice(&[kind as u64, index]);
                2
            }
            Request::Open { kind, ram_quota, cap_quota } => {
                w[..3].copy_from_slice(&[kind as u64, ram_quota, cap_quota as u64]);
                3
            }
            Request::Close { session } | Request::Usage { session } => {
                w[0] = session.to_word();
                1
            }
            Request::RamAlloc { session, size, align_log2, cache, range } => {
                let high = (align_log2 as u32) << ALIGN_SHIFT | (cache as u32) << CACHE_SHIFT;
                w[0] = join(session, high);
                w[1] = size;
                match range {
                    Some(r) => {
                        w[2] = r.lo;
                        w[3] = r.hi;
                        4
                    }
                    None => 2,
                }
            }
            Request::RamMap { session, dataspace: object, vaddr: wide }
            | Request::RamCaps { session, dataspace: object, first_slot: wide } => {
                w[0] = join(session, object.0);
                w[1] = wide;
                2
            }
            Request::CnodeCreate { session, log2_slots, slot } => {
                w[0] = join(session, log2_slots as u32);
                w[1] = slot;
                2
            }
            Request::TcbCreate { session, prio } => {
                w[0] = join(session, prio as u32);
                1
            }
            Request::TcbSetup { session, thread, entry, stack, arg } => {
                w = [join(session, thread.0), entry, stack, arg];
                4
            }
            Request::RamFree { session, dataspace: object }
            | Request::CnodeDestroy { session, cnode: object }
            | Request::TcbStart { session, thread: object }
            | Request::TcbStop { session, thread: object }
            | Request::TcbDestroy { session, thread: object } => {
                w[0] = join(session, object.0);
                1
            }
        };
        (self.label() as u64, w, n)
    }

    /// The request a message carries, or why there is none (see the module's rule).
    pub fn decode(label: u64, words: &[u64]) -> Result<Request, ErrorCode> {
        let label = Label::from_word(label).ok_or(ErrorCode::InvalidRequest)?;
        let request = Self::parse(label, words)?;
        request.validate()?;
        Ok(request)
    }

    /// The fields of a message whose length the label takes, with reserved bits and enumerated
    /// values checked; value ranges are [`Request::validate`]'s.
    fn parse(label: Label, words: &[u64]) -> Result<Request, ErrorCode> {
        use ErrorCode::{InvalidArgument, InvalidRequest};
        Ok(match (label, words) {
            (Label::Log, &[len, ref text @ ..]) => {
                if len > LOG_BYTES as u64 || text.len() != (len as usize).div_ceil(8) {
                    return Err(InvalidRequest);
                }
                let mut bytes = [0u8; LOG_BYTES];
                for (chunk, w) in bytes.chunks_mut(8).zip(text) {
                    chunk.copy_from_slice(&w.to_le_bytes());
                }
                // Bytes past `len` in the last word are not part of the request.
                bytes[len as usize..].fill(0);
                Request::Log { len: len as u8, bytes }
            }
            (Label::Exit, &[code]) => Request::Exit { code },
            (Label::LogBuffer, &[len]) => Request::LogBuffer { len },
            (Label::Channel, &[id]) => Request::Channel { id },
            (Label::Ack, &[id]) => Request::Ack { id },
            (Label::Device, &[kind, index]) => {
                Request::Device { kind: DeviceKind::from_word(kind).ok_or(InvalidArgument)?, index }
            }
            (Label::Open, &[kind, ram_quota, cap_quota]) => Request::Open {
                kind: SessionKind::from_word(kind).ok_or(InvalidArgument)?,
                ram_quota,
                cap_quota: u32::try_from(cap_quota).map_err(|_| InvalidArgument)?,
            },
            (Label::Close, &[w0]) => Request::Close { session: session_only(w0)? },
            (Label::Usage, &[w0]) => Request::Usage { session: session_only(w0)? },
            (Label::RamAlloc, &[w0, size, ref range @ ..]) => {
                let range = match *range {
                    [] => None,
                    [lo, hi] => Some(PhysRange { lo, hi }),
                    _ => return Err(InvalidRequest),
                };
                let (session, high) = split(w0);
                if high >> RAM_ALLOC_RESERVED_SHIFT != 0 {
                    return Err(InvalidArgument);
                }
                let cache = CacheAttr::from_word((high >> CACHE_SHIFT & 0xff) as u64).ok_or(InvalidArgument)?;
                Request::RamAlloc { session, size, align_log2: (high >> ALIGN_SHIFT) as u8, cache, range }
            }
            (Label::RamMap, &[w0, vaddr]) => {
                let (session, dataspace) = split(w0);
                Request::RamMap { session, dataspace: Handle(dataspace), vaddr }
            }
            (Label::RamCaps, &[w0, first_slot]) => {
                let (session, dataspace) = split(w0);
                Request::RamCaps { session, dataspace: Handle(dataspace), first_slot }
            }
            (Label::RamFree, &[w0]) => {
                let (session, dataspace) = split(w0);
                Request::RamFree { session, dataspace: Handle(dataspace) }
            }
            (Label::CnodeCreate, &[w0, slot]) => {
                let (session, log2_slots) = split(w0);
                Request::CnodeCreate {
                    session,
                    log2_slots: u8::try_from(log2_slots).map_err(|_| InvalidArgument)?,
                    slot,
                }
            }
            (Label::CnodeDestroy, &[w0]) => {
                let (session, cnode) = split(w0);
                Request::CnodeDestroy { session, cnode: Handle(cnode) }
            }
            (Label::TcbCreate, &[w0]) => {
                let (session, prio) = split(w0);
                Request::TcbCreate { session, prio: u8::try_from(prio).map_err(|_| InvalidArgument)? }
            }
            (Label::TcbSetup, &[w0, entry, stack, arg]) => {
                let (session, thread) = split(w0);
                Request::TcbSetup { session, thread: Handle(thread), entry, stack, arg }
            }
            (Label::TcbStart, &[w0]) => {
                let (session, thread) = split(w0);
                Request::TcbStart { session, thread: Handle(thread) }
            }
            (Label::TcbStop, &[w0]) => {
                let (session, thread) = split(w0);
                Request::TcbStop { session, thread: Handle(thread) }
            }
            (Label::TcbDestroy, &[w0]) => {
                let (session, thread) = split(w0);
                Request::TcbDestroy { session, thread: Handle(thread) }
            }
            _ => return Err(InvalidRequest),
        })
    }

    /// Whether every field is in range and consistent with the others (what needs no state).
    /// [`ErrorCode::InvalidArgument`] if not; for a log request whose byte count is beyond
    /// [`LOG_BYTES`], [`ErrorCode::InvalidRequest`] (its length is the message's).
    pub fn validate(&self) -> Result<(), ErrorCode> {
        let valid = match *self {
            Request::Log { len, .. } => {
                if len as usize > LOG_BYTES {
                    return Err(ErrorCode::InvalidRequest);
                }
                true
            }
            Request::LogBuffer { len } => len <= crate::abi::LOG_BUFFER_BYTES,
            Request::Channel { id } | Request::Ack { id } => id < crate::abi::CHANNEL_IDS,
            Request::Device { .. } => true,
            Request::Exit { .. }
            | Request::Open { .. }
            | Request::Close { .. }
            | Request::Usage { .. }
            | Request::RamFree { .. }
            | Request::CnodeDestroy { .. }
            | Request::TcbCreate { .. }
            | Request::TcbStart { .. }
            | Request::TcbStop { .. }
            | Request::TcbDestroy { .. } => true,
            Request::RamAlloc { size, align_log2, range, .. } => {
                size != 0
                    && size % PAGE_SIZE == 0
                    && align_log2 <= MAX_ALIGN_LOG2
                    && range.is_none_or(|r| r.lo < r.hi && r.lowest_fit(size, align_log2).is_some())
            }
            Request::RamMap { vaddr, .. } => vaddr % PAGE_SIZE == 0 && vaddr < VADDR_LIMIT,
            Request::RamCaps { first_slot, .. } => first_slot >= FIRST_FREE_SLOT,
            Request::CnodeCreate { log2_slots, slot, .. } => {
                (MIN_CNODE_LOG2_SLOTS..=MAX_CNODE_LOG2_SLOTS).contains(&log2_slots) && slot >= FIRST_FREE_SLOT
            }
            Request::TcbSetup { entry, stack, .. } => {
                entry < VADDR_LIMIT && stack <= VADDR_LIMIT && stack % STACK_ALIGN == 0
            }
        };
        if valid {
            Ok(())
        } else {
            Err(ErrorCode::InvalidArgument)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::select;
    use ErrorCode::{InvalidArgument, InvalidRequest};

    const S: u64 = 7; // a session handle
    const O: u64 = 9 << 32; // an object handle in word 0

    fn decode(label: Label, words: &[u64]) -> Result<Request, ErrorCode> {
        Request::decode(label as u64, words)
    }

    #[test]
    fn log_and_exit_round_trip() {
        for r in [Request::log(b"hello, core"), Request::log(b""), Request::log(&[b'x'; 40]), Request::Exit { code: 7 }]
        {
            let (label, w, n) = r.encode();
            assert_eq!(Request::decode(label, &w[..n]), Ok(r));
        }
        assert_eq!(Request::log(&[b'x'; 40]), Request::log(&[b'x'; LOG_BYTES]));
    }

    #[test]
    fn a_log_request_sends_only_its_bytes() {
        let mut r = Request::log(b"abc");
        if let Request::Log { ref mut bytes, .. } = r {
            bytes[3] = b'!';
        }
        let (_, w, n) = r.encode();
        assert_eq!(&w[..n], &[3, u64::from_le_bytes(*b"abc\0\0\0\0\0")]);
        let (_, _, n) = Request::Log { len: 200, bytes: [0; LOG_BYTES] }.encode();
        assert!(n <= MAX_WORDS);
        assert_eq!(Request::Log { len: 200, bytes: [0; LOG_BYTES] }.validate(), Err(InvalidRequest));
    }

    #[test]
    fn wrong_labels_and_lengths_are_invalid_requests() {
        assert_eq!(Request::decode(0, &[]), Err(InvalidRequest));
        assert_eq!(Request::decode(21, &[S]), Err(InvalidRequest));
        assert_eq!(Request::decode(u64::MAX, &[S]), Err(InvalidRequest));
        assert_eq!(decode(Label::Log, &[9, 0]), Err(InvalidRequest));
        assert_eq!(decode(Label::Log, &[25, 0, 0, 0]), Err(InvalidRequest));
        let takes: [(Label, &[usize]); 20] = [
            (Label::Log, &[1]),
            (Label::Exit, &[1]),
            (Label::Open, &[3]),
            (Label::Close, &[1]),
            (Label::RamAlloc, &[2, 4]),
            (Label::RamMap, &[2]),
            (Label::RamCaps, &[2]),
            (Label::RamFree, &[1]),
            (Label::CnodeCreate, &[2]),
            (Label::CnodeDestroy, &[1]),
            (Label::TcbCreate, &[1]),
            (Label::TcbSetup, &[4]),
            (Label::TcbStart, &[1]),
            (Label::TcbStop, &[1]),
            (Label::TcbDestroy, &[1]),
            (Label::Usage, &[1]),
            (Label::LogBuffer, &[1]),
            (Label::Channel, &[1]),
            (Label::Device, &[2]),
            (Label::Ack, &[1]),
        ];
        for (label, lengths) in takes {
            for n in 0..=2 * MAX_WORDS {
                // Zero fields are bad arguments for some labels, never a bad request.
                let r = decode(label, &[0; 2 * MAX_WORDS][..n]);
                assert_eq!(r == Err(InvalidRequest), !lengths.contains(&n), "{label:?} with {n} words: {r:?}");
            }
        }
    }

    #[test]
    fn a_log_buffer_request_names_at_most_the_buffer() {
        let full = crate::abi::LOG_BUFFER_BYTES;
        assert_eq!(decode(Label::LogBuffer, &[full]), Ok(Request::LogBuffer { len: full }));
        assert_eq!(decode(Label::LogBuffer, &[full + 1]), Err(InvalidArgument));
        assert_eq!(decode(Label::LogBuffer, &[u64::MAX]), Err(InvalidArgument));
        assert_eq!(Request::LogBuffer { len: 80 }.encode().2, 1);
    }

    #[test]
    fn a_wrong_length_is_reported_before_a_bad_field() {
        assert_eq!(decode(Label::Open, &[0, 0]), Err(InvalidRequest));
        assert_eq!(decode(Label::RamAlloc, &[u64::MAX, 0, 0]), Err(InvalidRequest));
        assert_eq!(decode(Label::TcbCreate, &[u64::MAX, 0]), Err(InvalidRequest));
    }

    #[test]
    fn open_checks_kind_and_cap_quota() {
        assert_eq!(
            decode(Label::Open, &[2, 0, 0]),
            Ok(Request::Open { kind: SessionKind::Cnode, ram_quota: 0, cap_quota: 0 })
        );
        assert_eq!(
            decode(Label::Open, &[1, u64::MAX, u32::MAX as u64]),
            Ok(Request::Open { kind: SessionKind::Ram, ram_quota: u64::MAX, cap_quota: u32::MAX })
        );
        assert_eq!(decode(Label::Open, &[0, 0, 0]), Err(InvalidArgument));
        assert_eq!(decode(Label::Open, &[4, 0, 0]), Err(InvalidArgument));
        assert_eq!(decode(Label::Open, &[1, 0, 1 << 32]), Err(InvalidArgument));
    }

    #[test]
    fn handles_take_their_half_word_and_close_reserves_the_upper_half() {
        assert_eq!(decode(Label::Close, &[0xffff_ffff]), Ok(Request::Close { session: Handle(0xffff_ffff) }));
        assert_eq!(decode(Label::Close, &[1 << 32 | S]), Err(InvalidArgument));
        assert_eq!(
            decode(Label::RamFree, &[O | S]),
            Ok(Request::RamFree { session: Handle(S as u32), dataspace: Handle(9) })
        );
        assert_eq!(
            decode(Label::TcbStop, &[u64::MAX]),
            Ok(Request::TcbStop { session: Handle(u32::MAX), thread: Handle(u32::MAX) })
        );
    }

    /// Word 0 of a RAM allocation.
    fn alloc(align_log2: u64, cache: u64) -> u64 {
        S | align_log2 << 32 | cache << 40
    }

    #[test]
    fn ram_alloc_checks_size_alignment_cache_and_range() {
        let ok = |words: &[u64]| decode(Label::RamAlloc, words).is_ok();
        assert!(ok(&[alloc(0, 0), 0x1000]));
        assert!(ok(&[alloc(47, 2), 0x1000]));
        assert!(ok(&[alloc(21, 1), 0x20_0000, 0, 1 << 32]));
        assert_eq!(
            decode(Label::RamAlloc, &[alloc(21, 1), 0x20_0000, 0x1000, 0x60_0000]),
            Ok(Request::RamAlloc {
                session: Handle(S as u32),
                size: 0x20_0000,
                align_log2: 21,
                cache: CacheAttr::WriteCombining,
                range: Some(PhysRange { lo: 0x1000, hi: 0x60_0000 }),
            })
        );
        let bad = |words: &[u64]| assert_eq!(decode(Label::RamAlloc, words), Err(InvalidArgument), "{words:x?}");
        bad(&[alloc(0, 0), 0]);
        bad(&[alloc(0, 0), 0x800]);
        bad(&[alloc(0, 0), 0x1001]);
        bad(&[alloc(0, 0), u64::MAX]);
        bad(&[alloc(48, 0), 0x1000]);
        bad(&[alloc(255, 0), 0x1000]);
        bad(&[alloc(0, 3), 0x1000]);
        bad(&[alloc(0, 255), 0x1000]);
        bad(&[alloc(0, 0) | 1 << 48, 0x1000]);
        bad(&[alloc(0, 0) | 1 << 63, 0x1000]);
        // Empty, inverted, too small for the size, too small once aligned.
        bad(&[alloc(0, 0), 0x1000, 0x5000, 0x5000]);
        bad(&[alloc(0, 0), 0x1000, 0x6000, 0x5000]);
        bad(&[alloc(0, 0), 0x2000, 0x4000, 0x5000]);
        bad(&[alloc(0, 0), 0x1000, 0x4800, 0x5800]);
        bad(&[alloc(16, 0), 0x1000, 0x1000, 0x1_0000]);
        bad(&[alloc(0, 0), 0x1000, u64::MAX - 0xfff, u64::MAX]);
    }

    #[test]
    fn ram_map_checks_the_virtual_address() {
        let map = |vaddr| decode(Label::RamMap, &[O | S, vaddr]);
        assert_eq!(map(0), Ok(Request::RamMap { session: Handle(S as u32), dataspace: Handle(9), vaddr: 0 }));
        assert!(map(VADDR_LIMIT - PAGE_SIZE).is_ok());
        assert_eq!(map(0x1008), Err(InvalidArgument));
        assert_eq!(map(VADDR_LIMIT), Err(InvalidArgument));
        assert_eq!(map(!0xfff), Err(InvalidArgument));
    }

    #[test]
    fn slots_below_the_first_free_one_are_cores() {
        assert!(decode(Label::RamCaps, &[O | S, FIRST_FREE_SLOT]).is_ok());
        assert!(decode(Label::RamCaps, &[O | S, u64::MAX]).is_ok());
        assert_eq!(decode(Label::RamCaps, &[O | S, FIRST_FREE_SLOT - 1]), Err(InvalidArgument));
        assert_eq!(decode(Label::RamCaps, &[O | S, 0]), Err(InvalidArgument));
        assert_eq!(decode(Label::CnodeCreate, &[4 << 32 | S, FIRST_FREE_SLOT - 1]), Err(InvalidArgument));
    }

    #[test]
    fn cnode_create_checks_its_size() {
        let create = |log2: u64| decode(Label::CnodeCreate, &[log2 << 32 | S, 20]);
        assert_eq!(create(1), Ok(Request::CnodeCreate { session: Handle(S as u32), log2_slots: 1, slot: 20 }));
        assert!(create(MAX_CNODE_LOG2_SLOTS as u64).is_ok());
        assert_eq!(create(0), Err(InvalidArgument));
        assert_eq!(create(MAX_CNODE_LOG2_SLOTS as u64 + 1), Err(InvalidArgument));
        assert_eq!(create(256 + 4), Err(InvalidArgument));
    }

    #[test]
    fn tcb_create_takes_a_byte_of_priority() {
        let create = |prio: u64| decode(Label::TcbCreate, &[prio << 32 | S]);
        assert_eq!(create(255), Ok(Request::TcbCreate { session: Handle(S as u32), prio: 255 }));
        assert_eq!(create(0), Ok(Request::TcbCreate { session: Handle(S as u32), prio: 0 }));
        assert_eq!(create(256), Err(InvalidArgument));
        assert_eq!(create(u32::MAX as u64), Err(InvalidArgument));
    }

    #[test]
    fn tcb_setup_checks_entry_and_stack() {
        let setup = |entry, stack| decode(Label::TcbSetup, &[O | S, entry, stack, u64::MAX]);
        assert_eq!(
            setup(0x40_1000, 0x7fff_0000),
            Ok(Request::TcbSetup {
                session: Handle(S as u32),
                thread: Handle(9),
                entry: 0x40_1000,
                stack: 0x7fff_0000,
                arg: u64::MAX
            })
        );
        assert!(setup(VADDR_LIMIT - 1, VADDR_LIMIT).is_ok());
        assert_eq!(setup(VADDR_LIMIT, 0x1000), Err(InvalidArgument));
        assert_eq!(setup(0x1000, VADDR_LIMIT + 16), Err(InvalidArgument));
        assert_eq!(setup(0x1000, 0x7fff_0008), Err(InvalidArgument));
    }

    #[test]
    fn session_kinds_follow_the_labels() {
        for label in Label::ALL {
            assert_eq!(Label::from_word(label as u64), Some(label));
        }
        assert_eq!(Label::RamCaps.session_kind(), Some(SessionKind::Ram));
        assert_eq!(Label::CnodeDestroy.session_kind(), Some(SessionKind::Cnode));
        assert_eq!(Label::TcbSetup.session_kind(), Some(SessionKind::Tcb));
        assert_eq!(Label::Close.session_kind(), None);
        assert_eq!(Request::Close { session: Handle(3) }.session(), Some(Handle(3)));
        assert_eq!(Request::Exit { code: 3 }.session(), None);
    }

    /// Numbers that hit both sides of every check: arbitrary, page multiples, and the limits.
    fn num() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            (0u64..1 << 36).prop_map(|p| p << 12),
            (0u64..1 << 12).prop_map(|p| p << 4),
            select(vec![0, 1, FIRST_FREE_SLOT, VADDR_LIMIT, VADDR_LIMIT - PAGE_SIZE, u64::MAX]),
        ]
    }

    fn handle() -> impl Strategy<Value = Handle> {
        any::<u32>().prop_map(Handle)
    }

    fn small() -> impl Strategy<Value = u8> {
        prop_oneof![any::<u8>(), 0u8..=48]
    }

    /// Any request, with fields in range or not.
    fn any_request() -> impl Strategy<Value = Request> {
        let range = proptest::option::of((num(), num()).prop_map(|(lo, hi)| PhysRange { lo, hi }));
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..=LOG_BYTES).prop_map(|t| Request::log(&t)),
            any::<u64>().prop_map(|code| Request::Exit { code }),
            (select(SessionKind::ALL.to_vec()), num(), any::<u32>())
                .prop_map(|(kind, ram_quota, cap_quota)| Request::Open { kind, ram_quota, cap_quota }),
            handle().prop_map(|session| Request::Close { session }),
            handle().prop_map(|session| Request::Usage { session }),
            (handle(), num(), small(), select(CacheAttr::ALL.to_vec()), range).prop_map(
                |(session, size, align_log2, cache, range)| Request::RamAlloc {
                    session,
                    size,
                    align_log2,
                    cache,
                    range
                }
            ),
            (handle(), handle(), num()).prop_map(|(session, dataspace, vaddr)| Request::RamMap {
                session,
                dataspace,
                vaddr
            }),
            (handle(), handle(), num()).prop_map(|(session, dataspace, first_slot)| Request::RamCaps {
                session,
                dataspace,
                first_slot
            }),
            (handle(), handle()).prop_map(|(session, dataspace)| Request::RamFree { session, dataspace }),
            (handle(), small(), num()).prop_map(|(session, log2_slots, slot)| Request::CnodeCreate {
                session,
                log2_slots,
                slot
            }),
            (handle(), handle()).prop_map(|(session, cnode)| Request::CnodeDestroy { session, cnode }),
            (handle(), any::<u8>()).prop_map(|(session, prio)| Request::TcbCreate { session, prio }),
            (handle(), handle(), num(), num(), any::<u64>()).prop_map(|(session, thread, entry, stack, arg)| {
                Request::TcbSetup { session, thread, entry, stack, arg }
            }),
            (handle(), handle()).prop_map(|(session, thread)| Request::TcbStart { session, thread }),
            (handle(), handle()).prop_map(|(session, thread)| Request::TcbStop { session, thread }),
            (handle(), handle()).prop_map(|(session, thread)| Request::TcbDestroy { session, thread }),
        ]
    }

    /// Cases per property: 256, or `PROPTEST_CASES` (`run soak` asks for many more).
    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        #[test]
        fn every_valid_request_round_trips(r in any_request().prop_filter("valid", |r| r.validate().is_ok())) {
            let (label, w, n) = r.encode();
            prop_assert!(n <= MAX_WORDS);
            prop_assert_eq!(label, r.label() as u64);
            prop_assert_eq!(Request::decode(label, &w[..n]), Ok(r));
        }

        #[test]
        fn any_request_decodes_back_exactly_when_it_validates(r in any_request()) {
            let (label, w, n) = r.encode();
            prop_assert!(n <= MAX_WORDS);
            prop_assert_eq!(Request::decode(label, &w[..n]), r.validate().map(|()| r));
        }

        #[test]
        fn any_message_decodes_to_a_request_that_encodes_back_or_to_an_error(
            label in prop_oneof![0u64..20, any::<u64>()],
            words in proptest::collection::vec(num(), 0..=2 * MAX_WORDS),
        ) {
            if let Ok(r) = Request::decode(label, &words) {
                let (l, w, n) = r.encode();
                prop_assert_eq!(l, label);
                if r.label() == Label::Log {
                    prop_assert_eq!(Request::decode(l, &w[..n]), Ok(r));
                } else {
                    // Every accepted message is the one encoding of its request.
                    prop_assert_eq!(&w[..n], &words[..]);
                }
            }
        }

        #[test]
        fn a_flipped_bit_gives_a_request_that_encodes_back_or_an_error(
            r in any_request(),
            bit in 0usize..64 * MAX_WORDS,
        ) {
            let (label, mut w, n) = r.encode();
            w[bit / 64] ^= 1 << (bit % 64);
            if let Ok(back) = Request::decode(label, &w[..n]) {
                let (l, w2, n2) = back.encode();
                prop_assert_eq!(l, label);
                prop_assert_eq!(Request::decode(l, &w2[..n2]), Ok(back));
            }
        }

        #[test]
        fn every_log_text_round_trips(text in proptest::collection::vec(any::<u8>(), 0..=LOG_BYTES)) {
            let r = Request::log(&text);
            let (l, w, n) = r.encode();
            prop_assert!(n <= MAX_WORDS);
            prop_assert_eq!(Request::decode(l, &w[..n]), Ok(r));
            if let Request::Log { len, bytes } = r {
                prop_assert_eq!(&bytes[..len as usize], &text[..]);
            }
        }
    }
}
