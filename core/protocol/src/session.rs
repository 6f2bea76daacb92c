//! Typed sessions on top of [`crate::client`]: each method builds its request, calls core
//! through a [`Transport`] and checks the answer against what was asked.
//!
//! Sessions and objects are handles, so they are `Copy`: copying one does not copy what it
//! names, and once it is closed, freed or destroyed core answers
//! [`crate::ErrorCode::InvalidHandle`] for every copy.

use crate::answer::{Answer, CnodeCreateReply, Done, RamAllocReply, TcbCreateReply, UsageReply};
use crate::client::{self, call, SessionError, Transport};
use crate::field::{CacheAttr, Handle, PhysRange, SessionKind};
use crate::layout::{self, Frames};
use crate::reply::MalformedReply;
use crate::request::Request;

macro_rules! session {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        pub struct $name {
            handle: Handle,
        }

        impl $name {
            pub const KIND: SessionKind = $kind;

            /// Opens a session, moving `ram_quota` bytes and `cap_quota` slots of the child's
            /// budget to it.
            pub fn open<T: Transport + ?Sized>(t: &mut T, ram_quota: u64, cap_quota: u32) -> Result<Self, SessionError> {
                client::open(t, Self::KIND, ram_quota, cap_quota).map(Self::from_handle)
            }

            /// The session a handle names (core checks it is one, of this kind).
            pub fn from_handle(handle: Handle) -> Self {
                Self { handle }
            }

            pub fn handle(self) -> Handle {
                self.handle
            }

            /// What the session is charged and what its quotas are.
            pub fn usage<T: Transport + ?Sized>(self, t: &mut T) -> Result<UsageReply, SessionError> {
                client::usage(t, self.handle)
            }

            /// Closes the session: its objects go and what is left of its quota moves back.
            pub fn close<T: Transport + ?Sized>(self, t: &mut T) -> Result<(), SessionError> {
                client::close(t, self.handle)
            }
        }
    };
}

session!(
    /// Physical memory as dataspaces.
    RamSession,
    SessionKind::Ram
);
session!(
    /// CNodes for the client's CSpace.
    CnodeSession,
    SessionKind::Cnode
);
session!(
    /// Threads in the client's protection domain.
    TcbSession,
    SessionKind::Tcb
);

/// Where a dataspace's memory may lie and how it is cached. The default: anywhere, page
/// aligned, cached.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocOptions {
    /// The physical address is a multiple of 2^align_log2 (at most 47).
    pub align_log2: u8,
    pub cache: CacheAttr,
    /// The whole dataspace lies in this range.
    pub range: Option<PhysRange>,
}

/// A dataspace core allocated: physically contiguous memory of `size` bytes at `paddr`, made of
/// frames of at most 2^frame_bits bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Dataspace {
    pub handle: Handle,
    pub paddr: u64,
    pub size: u64,
    pub frame_bits: u8,
}

impl Dataspace {
    /// Its frames in address order: the caps [`RamSession::caps`] hands out, one slot each.
    pub fn frames(&self) -> Frames {
        layout::frames(self.paddr, self.size, self.frame_bits)
    }

    pub fn frame_count(&self) -> u64 {
        self.frames().count() as u64
    }
}

impl RamSession {
    /// Allocates `size` bytes (a non-zero multiple of 4 KiB), physically contiguous.
    pub fn alloc<T: Transport + ?Sized>(
        self,
        t: &mut T,
        size: u64,
        options: AllocOptions,
    ) -> Result<Dataspace, SessionError> {
        let AllocOptions { align_log2, cache, range } = options;
        let request = Request::RamAlloc { session: self.handle, size, align_log2, cache, range };
        let answer: RamAllocReply = call(t, &request)?;
        let RamAllocReply { dataspace, paddr, frame_bits } = answer;
        // Core's answer must satisfy what was asked, or it is not an answer to it.
        let aligned = 1u64.checked_shl(align_log2 as u32).is_some_and(|a| paddr % a == 0);
        let inside = range.unwrap_or(PhysRange { lo: 0, hi: u64::MAX }).contains(paddr, size);
        let frames_agree = layout::largest_frame_bits(paddr, size, frame_bits) == Some(frame_bits);
        if !(aligned && inside && frames_agree) {
            let len = answer.to_words().as_slice().len();
            return Err(SessionError::MalformedReply(MalformedReply { label: 0, len }));
        }
        Ok(Dataspace { handle: dataspace, paddr, size, frame_bits })
    }

    /// Maps the dataspace at `vaddr` in the client's VSpace (4 KiB aligned and congruent to its
    /// physical address modulo 2^frame_bits, below 2^47, over nothing mapped).
    pub fn map<T: Transport + ?Sized>(self, t: &mut T, dataspace: Dataspace, vaddr: u64) -> Result<(), SessionError> {
        call(t, &Request::RamMap { session: self.handle, dataspace: dataspace.handle, vaddr }).map(|Done| ())
    }

    /// Copies the dataspace's frame caps to the client's slots from `first_slot` on, one per
    /// frame in address order; gives the number of slots filled.
    pub fn caps<T: Transport + ?Sized>(
        self,
        t: &mut T,
        dataspace: Dataspace,
        first_slot: u64,
    ) -> Result<u64, SessionError> {
        call(t, &Request::RamCaps { session: self.handle, dataspace: dataspace.handle, first_slot })
            .map(|Done| dataspace.frame_count())
    }

    /// Frees the dataspace: unmaps it, deletes the caps handed out, returns its quota.
    pub fn free<T: Transport + ?Sized>(self, t: &mut T, dataspace: Dataspace) -> Result<(), SessionError> {
        call(t, &Request::RamFree { session: self.handle, dataspace: dataspace.handle }).map(|Done| ())
    }
}

/// A CNode core created, of 2^log2_slots slots, with a cap to it in the client's `slot`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Cnode {
    pub handle: Handle,
    pub log2_slots: u8,
    pub slot: u64,
}

impl CnodeSession {
    pub fn create<T: Transport + ?Sized>(self, t: &mut T, log2_slots: u8, slot: u64) -> Result<Cnode, SessionError> {
        let CnodeCreateReply { cnode } = call(t, &Request::CnodeCreate { session: self.handle, log2_slots, slot })?;
        Ok(Cnode { handle: cnode, log2_slots, slot })
    }

    /// Destroys the CNode (and the client's cap to it).
    pub fn destroy<T: Transport + ?Sized>(self, t: &mut T, cnode: Cnode) -> Result<(), SessionError> {
        call(t, &Request::CnodeDestroy { session: self.handle, cnode: cnode.handle }).map(|Done| ())
    }
}

/// A thread core created in the client's PD, stopped, with its IPC buffer at `ipc_buffer`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub handle: Handle,
    pub ipc_buffer: u64,
}

impl TcbSession {
    /// Creates a thread at priority `prio` (at most the client's own).
    pub fn create<T: Transport + ?Sized>(self, t: &mut T, prio: u8) -> Result<Thread, SessionError> {
        let TcbCreateReply { thread, ipc_buffer } = call(t, &Request::TcbCreate { session: self.handle, prio })?;
        Ok(Thread { handle: thread, ipc_buffer })
    }

    /// Sets where the thread starts: `entry`, `stack` (16-byte aligned), and `arg` in `rdi`.
    pub fn setup<T: Transport + ?Sized>(
        self,
        t: &mut T,
        thread: Thread,
        entry: u64,
        stack: u64,
        arg: u64,
    ) -> Result<(), SessionError> {
        let request = Request::TcbSetup { session: self.handle, thread: thread.handle, entry, stack, arg };
        call(t, &request).map(|Done| ())
    }

    pub fn start<T: Transport + ?Sized>(self, t: &mut T, thread: Thread) -> Result<(), SessionError> {
        call(t, &Request::TcbStart { session: self.handle, thread: thread.handle }).map(|Done| ())
    }

    pub fn stop<T: Transport + ?Sized>(self, t: &mut T, thread: Thread) -> Result<(), SessionError> {
        call(t, &Request::TcbStop { session: self.handle, thread: thread.handle }).map(|Done| ())
    }

    pub fn destroy<T: Transport + ?Sized>(self, t: &mut T, thread: Thread) -> Result<(), SessionError> {
        call(t, &Request::TcbDestroy { session: self.handle, thread: thread.handle }).map(|Done| ())
    }
}
