//! Sessions a child opens with core: a quota moved from the child's budget (RAM bytes and cap
//! slots), spent on objects core places for the child and given back when the session closes.
//!
//! How a request is served ([`Sessions::serve`]): the session handle names a live session of
//! the request's kind (index, kind and generation, so a stale, forged or foreign handle names
//! nothing); each object is charged to what is left of the quota before it is placed (a
//! dataspace's frames are checked as a whole first); the objects are placed through
//! [`pd::Pd`] (core's allocator, then the kernel invocations on the child's PD) into a
//! [`Pending`] list that is either committed to the session or freed again, so a request that
//! fails changes nothing. [`ram`] serves dataspaces, [`cnode`] CNodes and
//! [`thread`] threads.
//!
//! The quota rule ([`sel4_core_protocol::charges`], published so clients can compute it): a
//! session is charged, in bytes, its own record (a block of core's slab of session records)
//! from the moment it opens, and for every object core places for it (frames, paging
//! structures of its mappings, CNodes, TCBs, IPC buffers) the object's own size plus a record
//! of [`charges::OBJECT_RECORD`] bytes (its entry in the session and the share of core's
//! allocator metadata one object is provisioned). Its cap quota is charged one slot of core's
//! CSpace per object and one slot of the child's CNode per cap handed to the child.
//! Closing a session (or the child's end) frees everything it holds; freeing revokes each
//! object's leaf, so the child's copies and mappings die with it.

pub mod pd;

mod cnode;
mod ram;
mod thread;

use sel4_core_protocol::answer::{Answer, Done, OpenReply, UsageReply};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{charges, CacheAttr, ErrorCode, Handle, Request, SessionKind};

use crate::kernel::Slot;
use crate::object::ObjectType;
use crate::phys_allocator::{Handle as ObjectHandle, Placed, METADATA_PER_OBJECT};
use pd::Pd;

/// What a session's record holds, and the sessions one child holds (published: a client can
/// tell `OutOfRecords` coming).
pub use sel4_core_protocol::charges::{MAX_CNODES, MAX_DATASPACES, MAX_OBJECTS, MAX_SESSIONS, MAX_THREADS};

/// Bytes a session is charged for its record while it is open: the block of core's slab of
/// session records it takes ([`Session`] is aligned to exactly that size).
pub const SESSION_RECORD: u64 = charges::SESSION_RECORD;
const _: () = assert!(size_of::<Session>() as u64 == SESSION_RECORD);
// An object's record charge covers its entry in the session and core's allocator metadata.
const _: () = assert!(size_of::<Object>() as u64 + METADATA_PER_OBJECT <= charges::OBJECT_RECORD);

/// What owns a session's object.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Owner {
    Dataspace(u8),
    /// A paging structure placed to map the address it holds.
    Paging(u64),
    Cnode(u8),
    Thread(u8),
}

/// An object core placed for a session.
#[derive(Copy, Clone, Debug)]
struct Object {
    handle: ObjectHandle,
    slot: Slot,
    ty: ObjectType,
    /// Physical address: a dataspace's frames are used in address order.
    paddr: u64,
    bytes: u64,
    owner: Owner,
}

/// What a handle names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Named {
    Session = 0,
    Dataspace = 1,
    Cnode = 2,
    Thread = 3,
}

/// A handle: bits 0..8 the index in its table, 8..10 what it names ([`Named`]), 10..12 the
/// session an object belongs to (0 for a session), 12..32 the entry's generation, never 0. So a
/// stale or forged handle, one of another session or one of another kind names nothing.
fn handle(named: Named, session: usize, index: usize, generation: u32) -> Handle {
    Handle(generation << 12 | (session as u32) << 10 | (named as u32) << 8 | index as u32)
}

/// The fields of a handle: what it names, its session, index and generation.
fn split(h: Handle) -> (u32, usize, usize, u32) {
    ((h.0 >> 8) & 3, ((h.0 >> 10) & 3) as usize, (h.0 & 0xff) as usize, h.0 >> 12)
}

/// The generation after `g`: 20 bits, skipping 0 (no live entry has generation 0, so the
/// handle 0 never names anything). An entry reused 2^20 - 1 times comes back to a generation
/// it had before.
fn next_generation(g: u32) -> u32 {
    if g + 1 >= 1 << 20 {
        1
    } else {
        g + 1
    }
}

// The handle's fields hold every table's indices and every session.
const _: () = assert!(MAX_SESSIONS <= 4 && MAX_DATASPACES <= 256 && MAX_CNODES <= 256 && MAX_THREADS <= 256);

/// A record with a generation, live or free: what a handle names.
#[derive(Copy, Clone, Debug)]
struct Entry<T> {
    generation: u32,
    live: bool,
    value: T,
}

impl<T: Copy> Entry<T> {
    const fn empty(value: T) -> Entry<T> {
        Entry { generation: 0, live: false, value }
    }

    /// The value of live entry `h` of `table` (of `named` things of session `session`), with
    /// its index.
    fn find(table: &[Entry<T>], h: Handle, named: Named, session: usize) -> Result<(usize, T), ErrorCode> {
        let (tag, s, i, generation) = split(h);
        match table.get(i) {
            Some(e) if tag == named as u32 && s == session && e.live && e.generation == generation => Ok((i, e.value)),
            _ => Err(ErrorCode::InvalidHandle),
        }
    }

    /// Index of a free entry of `table`.
    fn free_index(table: &[Entry<T>]) -> Option<usize> {
        table.iter().position(|e| !e.live)
    }

    /// Makes entry `i` of `table` live with `value`; its handle.
    fn fill(table: &mut [Entry<T>], i: usize, value: T, named: Named, session: usize) -> Handle {
        let e = &mut table[i];
        e.generation = next_generation(e.generation);
        e.live = true;
        e.value = value;
        handle(named, session, i, e.generation)
    }
}

/// A dataspace: physically contiguous frames at consecutive addresses.
#[derive(Copy, Clone, Debug)]
struct Dataspace {
    paddr: u64,
    size: u64,
    frame_bits: u8,
    cache: CacheAttr,
    mapped: Option<u64>,
    /// Frame caps handed to the client (their cap quota).
    caps: u32,
}

/// A thread: its TCB in core's CSpace.
#[derive(Copy, Clone, Debug)]
struct Thread {
    tcb: Slot,
}

/// One session: a block of core's slab of session records (the table of children holds
/// [`MAX_SESSIONS`] per child), charged to the session while it is open.
#[repr(align(8192))]
pub struct Session {
    kind: SessionKind,
    /// Its place among the child's sessions (part of its objects' handles).
    index: usize,
    generation: u32,
    live: bool,
    ram_quota: u64,
    cap_quota: u32,
    /// Bytes and cap slots charged now, and the most bytes ever.
    used: u64,
    caps_used: u32,
    peak: u64,
    dataspaces: [Entry<Dataspace>; MAX_DATASPACES],
    cnodes: [Entry<()>; MAX_CNODES],
    threads: [Entry<Thread>; MAX_THREADS],
    objects: heapless::Vec<Object, MAX_OBJECTS>,
}

impl Session {
    const fn empty() -> Session {
        Session {
            kind: SessionKind::Ram,
            index: 0,
            generation: 0,
            live: false,
            ram_quota: 0,
            cap_quota: 0,
            used: 0,
            caps_used: 0,
            peak: 0,
            dataspaces: [Entry::empty(Dataspace {
                paddr: 0,
                size: 0,
                frame_bits: 0,
                cache: CacheAttr::Cached,
                mapped: None,
                caps: 0,
            }); MAX_DATASPACES],
            cnodes: [Entry::empty(()); MAX_CNODES],
            threads: [Entry::empty(Thread { tcb: Slot(0) }); MAX_THREADS],
            objects: heapless::Vec::new(),
        }
    }

    /// What it is charged and what is left.
    pub fn usage(&self) -> UsageReply {
        UsageReply {
            ram_quota: self.ram_quota,
            ram_used: self.used,
            cap_quota: self.cap_quota,
            caps_used: self.caps_used,
        }
    }

    /// Frees the objects owned by `only`, or all of them, and uncharges them.
    fn release(&mut self, pd: &mut impl Pd, only: Option<Owner>) {
        let mut i = self.objects.len();
        while i > 0 {
            i -= 1;
            let o = self.objects[i];
            if only.is_none_or(|owner| o.owner == owner) {
                pd.free(o.handle);
                self.used -= object_cost(o.bytes);
                self.caps_used -= charges::OBJECT_CAP_SLOTS;
                self.objects.swap_remove(i);
            }
        }
    }

    /// Stops every thread before the objects go (a thread never runs on freed memory).
    fn stop_threads(&self, pd: &mut impl Pd) {
        for t in self.threads.iter().filter(|t| t.live) {
            pd.thread_suspend(t.value.tcb);
        }
    }

    /// Frees everything and closes.
    fn close(&mut self, pd: &mut impl Pd) {
        self.stop_threads(pd);
        self.release(pd, None);
        for c in self.dataspaces.iter_mut() {
            c.live = false;
        }
        for c in self.cnodes.iter_mut() {
            c.live = false;
        }
        for t in self.threads.iter_mut() {
            t.live = false;
        }
        self.live = false;
    }

    /// The objects of `owner`, in address order.
    fn objects_of(&self, owner: Owner) -> heapless::Vec<Object, MAX_OBJECTS> {
        let mut v: heapless::Vec<Object, MAX_OBJECTS> =
            self.objects.iter().copied().filter(|o| o.owner == owner).collect();
        v.sort_unstable_by_key(|o| o.paddr);
        v
    }

    /// RAM bytes and cap slots left.
    fn left(&self) -> (u64, u32) {
        (self.ram_quota - self.used, self.cap_quota - self.caps_used)
    }
}

/// What an object of `bytes` costs its session's RAM quota: itself and core's record of it.
pub const fn object_cost(bytes: u64) -> u64 {
    bytes + charges::OBJECT_RECORD
}

/// Objects placed for one request, charged only if it succeeds: [`Pending::commit`] moves
/// them to the session, [`Pending::undo`] frees them.
struct Pending {
    objects: heapless::Vec<Object, MAX_OBJECTS>,
    bytes: u64,
    caps: u32,
    /// What the session has left, and room in its table of objects.
    ram_left: u64,
    caps_left: u32,
    room: usize,
}

impl Pending {
    fn new(s: &Session) -> Pending {
        let (ram_left, caps_left) = s.left();
        Pending {
            objects: heapless::Vec::new(),
            bytes: 0,
            caps: 0,
            ram_left,
            caps_left,
            room: MAX_OBJECTS - s.objects.len(),
        }
    }

    /// Charges `bytes` and `caps` more, if the quota has them.
    fn charge(&mut self, bytes: u64, caps: u32) -> Result<(), ErrorCode> {
        if self.bytes.checked_add(bytes).is_none_or(|b| b > self.ram_left) {
            return Err(ErrorCode::OutOfRamQuota);
        }
        if self.caps.checked_add(caps).is_none_or(|c| c > self.caps_left) {
            return Err(ErrorCode::OutOfCapQuota);
        }
        self.bytes += bytes;
        self.caps += caps;
        Ok(())
    }

    /// Places an object of `ty` (at `at`, or where core chooses), charged with its cap slot.
    fn place(
        &mut self,
        pd: &mut impl Pd,
        ty: ObjectType,
        size_bits: u8,
        at: Option<u64>,
        owner: Owner,
    ) -> Result<Placed, ErrorCode> {
        let bytes = ty.object_bits(size_bits).map(|b| 1u64 << b).map_err(|_| ErrorCode::InvalidArgument)?;
        // The session's table of objects is part of its fixed record.
        if self.objects.len() >= self.room {
            return Err(ErrorCode::OutOfRecords);
        }
        self.charge(object_cost(bytes), charges::OBJECT_CAP_SLOTS)?;
        let placed = match at {
            Some(paddr) => pd.alloc_at(ty, paddr),
            None => pd.alloc(ty, size_bits),
        };
        let p = match placed {
            Ok(p) => p,
            Err(_) => {
                self.bytes -= object_cost(bytes);
                self.caps -= charges::OBJECT_CAP_SLOTS;
                return Err(ErrorCode::NoMemory);
            }
        };
        let _ = self.objects.push(Object { handle: p.handle, slot: p.slot, ty, paddr: p.paddr, bytes, owner });
        Ok(p)
    }

    fn undo(self, pd: &mut impl Pd) {
        for o in self.objects.iter().rev() {
            pd.free(o.handle);
        }
    }

    fn commit(self, s: &mut Session) {
        for o in self.objects {
            let _ = s.objects.push(o);
        }
        s.used += self.bytes;
        s.caps_used += self.caps;
        s.peak = s.peak.max(s.used);
    }
}

/// A child's sessions, and what of its budget they hold.
pub struct Sessions {
    sessions: [Session; MAX_SESSIONS],
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions { sessions: [const { Session::empty() }; MAX_SESSIONS] }
    }
}

/// What serving a request needs to know of the child.
#[derive(Copy, Clone, Debug)]
pub struct Client {
    /// Radix of the child's CNode: its slots are `0..2^cnode_bits`.
    pub cnode_bits: u8,
    /// The child's own priority: its threads get no higher one.
    pub prio: u8,
    /// RAM and cap slots of the child's budget not yet charged or lent to a session.
    pub ram_left: u64,
    pub caps_left: u64,
    /// Where its threads' IPC buffers go: pages core maps from here on, one per session and
    /// thread, under a page table the child has already.
    pub ipc_base: u64,
}

/// A session's use, for core's log: `(<kind>): holds <n> objects; quota ...`, to follow
/// `session <handle> of <child> `.
#[derive(Copy, Clone, Debug)]
pub struct Report {
    pub session: Handle,
    pub kind: SessionKind,
    pub objects: usize,
    pub usage: UsageReply,
    pub peak: u64,
}

impl core::fmt::Display for Report {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let u = self.usage;
        write!(
            f,
            "({}): holds {} objects; quota {} bytes, used {} (at most {}), left {}; cap quota {}, used {}",
            match self.kind {
                SessionKind::Ram => "RAM",
                SessionKind::Cnode => "CNode",
                SessionKind::Tcb => "TCB",
            },
            self.objects,
            u.ram_quota,
            u.ram_used,
            self.peak,
            u.ram_quota - u.ram_used,
            u.cap_quota,
            u.caps_used
        )
    }
}

impl Sessions {
    /// Bytes of kernel objects the open sessions hold (what freeing them gives the allocator
    /// back; their quotas also count core's records of them).
    pub fn object_bytes(&self) -> u64 {
        self.live().flat_map(|(_, s)| s.objects.iter()).map(|o| o.bytes).sum()
    }

    /// RAM and cap slots lent to open sessions.
    pub fn lent(&self) -> (u64, u64) {
        self.live().fold((0, 0), |(r, c), (_, s)| (r + s.ram_quota, c + s.cap_quota as u64))
    }

    /// Reports of the open sessions.
    pub fn reports(&self) -> impl Iterator<Item = Report> + '_ {
        self.live().map(|(h, s)| Report {
            session: h,
            kind: s.kind,
            objects: s.objects.len(),
            usage: s.usage(),
            peak: s.peak,
        })
    }

    /// The report of session `h`, if it is open.
    pub fn report(&self, h: Handle) -> Option<Report> {
        self.reports().find(|r| r.session == h)
    }

    /// The objects the open sessions hold: (session, object handle).
    pub fn objects(&self) -> impl Iterator<Item = (Handle, ObjectHandle)> + '_ {
        self.live().flat_map(|(h, s)| s.objects.iter().map(move |o| (h, o.handle)))
    }

    /// The mapped dataspaces of the open sessions: (virtual address, size).
    pub fn mappings(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.live()
            .flat_map(|(_, s)| s.dataspaces.iter().filter(|d| d.live))
            .filter_map(|d| Some((d.value.mapped?, d.value.size)))
    }

    fn live(&self) -> impl Iterator<Item = (Handle, &Session)> {
        self.sessions.iter().filter(|s| s.live).map(|s| (handle(Named::Session, 0, s.index, s.generation), s))
    }

    /// Serves `request`; the reply's words, or the error that left everything as it was.
    pub fn serve(&mut self, pd: &mut impl Pd, client: &Client, request: Request) -> Result<Words, ErrorCode> {
        match request {
            Request::Open { kind, ram_quota, cap_quota } => self.open(client, kind, ram_quota, cap_quota),
            Request::Close { session } => {
                self.session(session, None)?.close(pd);
                Ok(Done.to_words())
            }
            Request::Usage { session } => Ok(self.session(session, None)?.usage().to_words()),
            Request::RamAlloc { session, size, align_log2, cache, range } => {
                ram::alloc(pd, self.session(session, Some(SessionKind::Ram))?, size, align_log2, cache, range)
            }
            Request::RamMap { session, dataspace, vaddr } => self.map(pd, session, dataspace, vaddr),
            Request::RamCaps { session, dataspace, first_slot } => {
                ram::caps(pd, client, self.session(session, Some(SessionKind::Ram))?, dataspace, first_slot)
            }
            Request::RamFree { session, dataspace } => {
                ram::free(pd, self.session(session, Some(SessionKind::Ram))?, dataspace)
            }
            Request::CnodeCreate { session, log2_slots, slot } => {
                cnode::create(pd, client, self.session(session, Some(SessionKind::Cnode))?, log2_slots, slot)
            }
            Request::CnodeDestroy { session, cnode } => {
                cnode::destroy(pd, self.session(session, Some(SessionKind::Cnode))?, cnode)
            }
            Request::TcbCreate { session, prio } => {
                let s = self.session(session, Some(SessionKind::Tcb))?;
                let index = s.index;
                thread::create(pd, client, s, index, prio)
            }
            Request::TcbSetup { session, thread, entry, stack, arg } => {
                let regs = pd::Registers { entry, stack, arg };
                thread::act(self.session(session, Some(SessionKind::Tcb))?, thread, |t| pd.thread_registers(t, regs))
            }
            Request::TcbStart { session, thread } => {
                thread::act(self.session(session, Some(SessionKind::Tcb))?, thread, |t| pd.thread_resume(t))
            }
            Request::TcbStop { session, thread } => {
                thread::act(self.session(session, Some(SessionKind::Tcb))?, thread, |t| pd.thread_suspend(t))
            }
            Request::TcbDestroy { session, thread } => {
                thread::destroy(pd, self.session(session, Some(SessionKind::Tcb))?, thread)
            }
            // Log and exit are the server's, not a session's.
            Request::Log { .. } | Request::Exit { .. } => Err(ErrorCode::InvalidRequest),
        }
    }

    /// Maps a dataspace. Paging structures of the child's other sessions are off limits:
    /// closing one of them takes its structures, and every mapping below them, away. Apart
    /// from `serve` so that its large table stays off the stack of every other request.
    #[inline(never)]
    fn map(&mut self, pd: &mut impl Pd, session: Handle, dataspace: Handle, vaddr: u64) -> Result<Words, ErrorCode> {
        let index = split(session).2;
        let foreign: heapless::Vec<(ObjectType, u64), { MAX_SESSIONS * MAX_OBJECTS }> = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(i, s)| s.live && *i != index)
            .flat_map(|(_, s)| s.objects.iter())
            .filter_map(|o| match o.owner {
                Owner::Paging(va) => Some((o.ty, va)),
                _ => None,
            })
            .collect();
        ram::map(pd, self.session(session, Some(SessionKind::Ram))?, dataspace, vaddr, &foreign)
    }

    fn open(&mut self, client: &Client, kind: SessionKind, ram_quota: u64, cap_quota: u32) -> Result<Words, ErrorCode> {
        if ram_quota > client.ram_left {
            return Err(ErrorCode::OutOfRamQuota);
        }
        if cap_quota as u64 > client.caps_left {
            return Err(ErrorCode::OutOfCapQuota);
        }
        // The quota must pay for the session's own record.
        if ram_quota < SESSION_RECORD {
            return Err(ErrorCode::OutOfRamQuota);
        }
        // Every record is in use: the child holds as many sessions as core keeps for it.
        let i = self.sessions.iter().position(|s| !s.live).ok_or(ErrorCode::OutOfRecords)?;
        let s = &mut self.sessions[i];
        s.generation = next_generation(s.generation);
        s.index = i;
        s.live = true;
        s.kind = kind;
        s.ram_quota = ram_quota;
        s.cap_quota = cap_quota;
        s.used = SESSION_RECORD;
        s.peak = SESSION_RECORD;
        s.caps_used = 0;
        Ok(OpenReply { session: handle(Named::Session, 0, i, s.generation) }.to_words())
    }

    /// Live session `h`, which must be of `kind` if given: a handle of another kind names
    /// nothing.
    fn session(&mut self, h: Handle, kind: Option<SessionKind>) -> Result<&mut Session, ErrorCode> {
        let (tag, session, i, generation) = split(h);
        match self.sessions.get_mut(i) {
            Some(s)
                if tag == Named::Session as u32
                    && session == 0
                    && s.live
                    && s.generation == generation
                    && kind.is_none_or(|k| k == s.kind) =>
            {
                Ok(s)
            }
            _ => Err(ErrorCode::InvalidHandle),
        }
    }

    /// Frees everything every session holds (the child is gone); their reports first.
    pub fn close_all(&mut self, pd: &mut impl Pd, mut report: impl FnMut(Report)) {
        for r in self.reports().collect::<heapless::Vec<Report, MAX_SESSIONS>>() {
            report(r);
        }
        for s in self.sessions.iter_mut().filter(|s| s.live) {
            s.close(pd);
        }
    }
}
