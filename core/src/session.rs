//! Sessions a child opens with core: a quota moved from the child's budget (RAM bytes and cap
//! slots), spent on objects core places for the child and given back when the session closes.
//!
//! How a request is served ([`Sessions::serve`]): the session handle names a live session of
//! the request's kind (its kind and a serial number core never hands out twice while the
//! first is live, so a stale, forged or foreign handle names nothing); each object is charged
//! to what is left of the quota before it is placed (a dataspace's frames are checked as a
//! whole first); the objects are placed through [`pd::Pd`] (core's allocator, then the kernel
//! invocations on the child's PD) into a [`Pending`] list that is either committed to the
//! session or freed again, so a request that fails changes nothing. [`ram`] serves dataspaces,
//! [`cnode`] CNodes and [`thread`] threads.
//!
//! Records grow with use: a session holds as many dataspaces, CNodes and threads, and a child
//! as many sessions, as their quotas pay for. The records live on core's heap; what each costs
//! is charged to its session by the published rule ([`sel4_core_protocol::charges`]): the
//! session's own record from the moment it opens, a dataspace's record, and for every object
//! core places (a run of a dataspace's frames made by one retype, paging structures of its
//! mappings, CNodes, TCBs, IPC buffers) the object's own size plus [`charges::OBJECT_RECORD`]
//! bytes (its record and the share of core's allocator metadata one object is provisioned).
//! Its cap quota is charged one slot of core's CSpace per object (per frame of a run) and one
//! slot of the child's CNode per cap handed to the child. Closing a session (or the child's
//! end) frees everything it holds; freeing revokes each object's leaf, so the child's copies
//! and mappings die with it.

pub mod mapping;
pub mod pd;

mod cnode;
pub(crate) mod ram;
mod thread;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use sel4_core_protocol::answer::{Answer, Done, OpenReply, UsageReply};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{charges, CacheAttr, ErrorCode, Handle, Request, SessionKind};

use crate::kernel::Slot;
use crate::object::ObjectType;
use crate::phys_allocator::{ObjectId, METADATA_PER_OBJECT};

/// Bytes each dataspace, CNode and thread is charged for its record.
pub const HANDLE_RECORD: u64 = charges::HANDLE_RECORD;
use pd::Pd;

/// Bytes a session is charged for its record while it is open.
pub const SESSION_RECORD: u64 = charges::SESSION_RECORD;

/// Bytes of core's heap a record of `T` takes at most, boxed in a B-tree map: the box and a
/// B-tree node's share per entry (a lone entry takes a whole leaf node of eleven 4-byte keys
/// and 8-byte boxes, about 160 bytes).
const fn boxed_in_map<T>() -> u64 {
    size_of::<T>() as u64 + 160
}
// Each record's charge covers what it takes of core's heap.
const _: () = assert!(boxed_in_map::<Session>() <= charges::SESSION_RECORD);
const _: () = assert!(boxed_in_map::<Dataspace>() <= charges::HANDLE_RECORD);
const _: () = assert!(boxed_in_map::<Object>() <= charges::HANDLE_RECORD);
const _: () = assert!(boxed_in_map::<Thread>() <= charges::HANDLE_RECORD);
// An object's charge covers its place in a vector that may hold twice its length, and core's
// allocator metadata.
const _: () = assert!(2 * size_of::<Paging>() as u64 + METADATA_PER_OBJECT <= charges::OBJECT_RECORD);

/// An object core placed for a session: one object, or a run of 2^`count_log2` equal objects
/// (frames) made by one retype, with caps in consecutive slots from `slot`.
#[derive(Copy, Clone, Debug)]
pub struct Object {
    pub handle: ObjectId,
    pub slot: Slot,
    pub ty: ObjectType,
    pub paddr: u64,
    /// log2 of the bytes of the whole run.
    pub bits: u8,
    pub count_log2: u8,
}

impl Object {
    /// Bytes of the whole run.
    pub fn bytes(&self) -> u64 {
        1 << self.bits
    }

    /// Slots of core's CSpace it takes: one per object of the run.
    pub fn cap_slots(&self) -> u32 {
        charges::OBJECT_CAP_SLOTS << self.count_log2
    }

    /// The objects of the run: core's slot of each, in address order.
    pub fn slots(&self) -> impl Iterator<Item = Slot> {
        let first = self.slot.0;
        (0..1u32 << self.count_log2).map(move |i| Slot(first + i))
    }

    /// Bytes of each object of the run.
    pub fn each(&self) -> u64 {
        1 << (self.bits - self.count_log2)
    }
}

/// A paging structure placed to map the address it holds.
#[derive(Copy, Clone, Debug)]
pub struct Paging {
    pub object: Object,
    pub va: u64,
}

/// What a handle names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Named {
    Session = 0,
    Dataspace = 1,
    Cnode = 2,
    Thread = 3,
}

/// Bits of a handle's serial number; the two above them say what it names ([`Named`]).
const SERIAL_BITS: u32 = 30;
const SERIAL_MASK: u32 = (1 << SERIAL_BITS) - 1;

/// A handle: what it names in bits 30..32 and a serial number in bits 0..30, never 0, unique
/// among the child's live sessions and objects. So a stale or forged handle, one of another
/// session or one of another kind names nothing.
fn handle(named: Named, serial: u32) -> Handle {
    Handle((named as u32) << SERIAL_BITS | serial)
}

/// The serial of `h` if it names a `named`.
fn serial(h: Handle, named: Named) -> Result<u32, ErrorCode> {
    if h.0 >> SERIAL_BITS == named as u32 && h.0 & SERIAL_MASK != 0 {
        Ok(h.0 & SERIAL_MASK)
    } else {
        Err(ErrorCode::InvalidHandle)
    }
}

/// A dataspace: physically contiguous frames, in runs at consecutive addresses.
#[derive(Clone, Debug)]
struct Dataspace {
    paddr: u64,
    size: u64,
    frame_bits: u8,
    cache: CacheAttr,
    mapped: Option<u64>,
    /// Frame caps handed to the client (their cap quota).
    caps: u32,
    runs: Vec<Object>,
}

/// A thread: its TCB and IPC buffer, and which of the child's IPC buffer pages it has.
#[derive(Copy, Clone, Debug)]
struct Thread {
    tcb: Object,
    ipc: Object,
    page: u32,
}

/// One session, charged [`SESSION_RECORD`] while it is open.
pub struct Session {
    kind: SessionKind,
    ram_quota: u64,
    cap_quota: u32,
    /// Bytes and cap slots charged now, and the most bytes ever.
    used: u64,
    caps_used: u32,
    peak: u64,
    dataspaces: BTreeMap<u32, Box<Dataspace>>,
    cnodes: BTreeMap<u32, Box<Object>>,
    threads: BTreeMap<u32, Box<Thread>>,
    paging: Vec<Paging>,
}

impl Session {
    fn new(kind: SessionKind, ram_quota: u64, cap_quota: u32) -> Session {
        Session {
            kind,
            ram_quota,
            cap_quota,
            used: SESSION_RECORD,
            caps_used: 0,
            peak: SESSION_RECORD,
            dataspaces: BTreeMap::new(),
            cnodes: BTreeMap::new(),
            threads: BTreeMap::new(),
            paging: Vec::new(),
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

    /// Every object it holds.
    fn objects(&self) -> impl Iterator<Item = &Object> {
        self.dataspaces
            .values()
            .flat_map(|d| d.runs.iter())
            .chain(self.cnodes.values().map(|c| &**c))
            .chain(self.threads.values().flat_map(|t| [&t.tcb, &t.ipc]))
            .chain(self.paging.iter().map(|p| &p.object))
    }

    /// Frees `o` and uncharges it.
    fn release(&mut self, pd: &mut impl Pd, o: &Object) {
        pd.free(o.handle);
        self.used -= object_cost(o.bytes());
        self.caps_used -= o.cap_slots();
    }

    /// Frees everything; the session is gone afterwards. Threads stop first (a thread never
    /// runs on freed memory); then the newest kinds first: paging structures, threads, CNodes,
    /// dataspaces. Nothing is collected on the way (a session may hold tens of thousands of
    /// objects; core's heap keeps room for one request's records, not for a copy of them).
    fn close(mut self, pd: &mut impl Pd, pages: &mut BTreeSet<u32>) {
        for t in self.threads.values() {
            pd.thread_suspend(t.tcb.slot);
        }
        for p in core::mem::take(&mut self.paging).iter().rev() {
            self.release(pd, &p.object);
        }
        for (_, t) in core::mem::take(&mut self.threads).into_iter().rev() {
            self.release(pd, &t.ipc);
            self.release(pd, &t.tcb);
            pages.remove(&t.page);
        }
        for (_, c) in core::mem::take(&mut self.cnodes).into_iter().rev() {
            self.release(pd, &c);
        }
        for (_, d) in core::mem::take(&mut self.dataspaces).into_iter().rev() {
            for o in d.runs.iter().rev() {
                self.release(pd, o);
            }
        }
    }

    /// RAM bytes and cap slots left.
    fn left(&self) -> (u64, u32) {
        (self.ram_quota - self.used, self.cap_quota - self.caps_used)
    }

    fn report(&self, serial: u32) -> Report {
        Report {
            session: handle(Named::Session, serial),
            kind: self.kind,
            objects: self.objects().count(),
            records: self.dataspaces.len() + self.cnodes.len() + self.threads.len(),
            usage: self.usage(),
            peak: self.peak,
        }
    }
}

/// What an object of `bytes` costs its session's RAM quota: itself and core's record of it.
pub const fn object_cost(bytes: u64) -> u64 {
    bytes + charges::OBJECT_RECORD
}

/// Objects placed for one request, charged only if it succeeds: [`Pending::commit`] charges
/// them to the session and hands them over, [`Pending::undo`] frees them. The loader builds a
/// child's protection domain through one too ([`crate::loader`]).
pub struct Pending {
    objects: Vec<Object>,
    bytes: u64,
    caps: u32,
    /// What the session has left.
    ram_left: u64,
    caps_left: u32,
}

impl Pending {
    fn new(s: &Session) -> Pending {
        let (ram_left, caps_left) = s.left();
        Pending::with_left(ram_left, caps_left)
    }

    /// Objects to be charged to a quota with `ram_left` bytes and `caps_left` slots left.
    pub fn with_left(ram_left: u64, caps_left: u32) -> Pending {
        Pending { objects: Vec::new(), bytes: 0, caps: 0, ram_left, caps_left }
    }

    /// The objects placed so far, in the order they were.
    pub fn placed(&self) -> &[Object] {
        &self.objects
    }

    /// Bytes charged so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Charges `bytes` and `caps` more, if the quota has them.
    pub fn charge(&mut self, bytes: u64, caps: u32) -> Result<(), ErrorCode> {
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

    fn uncharge(&mut self, bytes: u64, caps: u32) {
        self.bytes -= bytes;
        self.caps -= caps;
    }

    /// Places 2^`count_log2` objects of `ty` (at `at`, or one object where core chooses),
    /// charged with their cap slots.
    pub fn place(
        &mut self,
        pd: &mut impl Pd,
        ty: ObjectType,
        size_bits: u8,
        at: Option<u64>,
        count_log2: u8,
    ) -> Result<Object, ErrorCode> {
        let bits = ty.object_bits(size_bits).map_err(|_| ErrorCode::InvalidArgument)? + count_log2;
        let (bytes, caps) = (1u64 << bits, charges::OBJECT_CAP_SLOTS << count_log2);
        self.charge(object_cost(bytes), caps)?;
        let placed = match at {
            Some(paddr) => pd.alloc_run_at(ty, paddr, count_log2),
            None => pd.alloc(ty, size_bits),
        };
        let p = placed.inspect_err(|_| self.uncharge(object_cost(bytes), caps)).map_err(|_| ErrorCode::NoMemory)?;
        let o = Object { handle: p.handle, slot: p.slot, ty, paddr: p.paddr, bits, count_log2 };
        self.objects.push(o);
        Ok(o)
    }

    pub fn undo(self, pd: &mut impl Pd) {
        for o in self.objects.iter().rev() {
            pd.free(o.handle);
        }
    }

    /// Charges what was placed to `s`; the objects, for the record that holds them.
    fn commit(self, s: &mut Session) -> Vec<Object> {
        s.used += self.bytes;
        s.caps_used += self.caps;
        s.peak = s.peak.max(s.used);
        self.objects
    }

    /// The objects placed, in the order they were, with what they were charged (bytes, cap
    /// slots): for a record kept outside a session.
    pub fn finish(self) -> (Vec<Object>, u64, u32) {
        (self.objects, self.bytes, self.caps)
    }
}

/// A child's sessions, and what of its budget they hold.
#[derive(Default)]
pub struct Sessions {
    /// The last serial handed out; after it wraps, serials still live are skipped.
    last: u32,
    wrapped: bool,
    sessions: BTreeMap<u32, Box<Session>>,
    /// The quotas of the open sessions, summed as they open and close (every request asks).
    quotas: (u64, u64),
    ipc: Ipc,
}

/// The child's IPC region (`thread::ipc_region`): the pages its threads' IPC buffers have
/// (by index), and the paging structures placed for them, which are the child's (shared by
/// threads of any session), charged to its budget outside its sessions: `bytes` and `caps`.
#[derive(Default)]
pub struct Ipc {
    pages: BTreeSet<u32>,
    paging: Vec<Paging>,
    bytes: u64,
    caps: u32,
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
}

/// A session's use, for core's log: `(<kind>): holds <n> objects; quota ...`, to follow
/// `session <handle> of <child> `.
#[derive(Copy, Clone, Debug)]
pub struct Report {
    pub session: Handle,
    pub kind: SessionKind,
    pub objects: usize,
    /// Dataspaces, CNodes and threads it holds (each charged its record).
    pub records: usize,
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
        let ipc = self.ipc.paging.iter().map(|p| p.object.bytes());
        self.sessions.values().flat_map(|s| s.objects()).map(|o| o.bytes()).chain(ipc).sum()
    }

    /// The child's IPC region: what it is charged (bytes, cap slots), and its paging
    /// structures (count, bytes).
    pub fn ipc_usage(&self) -> (u64, u32, usize, u64) {
        let bytes = self.ipc.paging.iter().map(|p| p.object.bytes()).sum();
        (self.ipc.bytes, self.ipc.caps, self.ipc.paging.len(), bytes)
    }

    /// RAM and cap slots of the child's budget lent to open sessions, and charged for the
    /// paging structures of its IPC region.
    pub fn lent(&self) -> (u64, u64) {
        (self.ipc.bytes + self.quotas.0, self.ipc.caps as u64 + self.quotas.1)
    }

    /// Reports of the open sessions.
    pub fn reports(&self) -> impl Iterator<Item = Report> + '_ {
        self.sessions.iter().map(|(&serial, s)| s.report(serial))
    }

    /// The report of session `h`, if it is open.
    pub fn report(&self, h: Handle) -> Option<Report> {
        let serial = serial(h, Named::Session).ok()?;
        self.sessions.get(&serial).map(|s| s.report(serial))
    }

    /// The objects the open sessions hold: (session, object handle).
    pub fn objects(&self) -> impl Iterator<Item = (Handle, ObjectId)> + '_ {
        self.sessions
            .iter()
            .flat_map(|(&serial, s)| s.objects().map(move |o| (handle(Named::Session, serial), o.handle)))
    }

    /// The mapped dataspaces of the open sessions: (virtual address, size).
    pub fn mappings(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.sessions.values().flat_map(|s| s.dataspaces.values()).filter_map(|d| Some((d.mapped?, d.size)))
    }

    /// The next serial number, which no live session or object of the child has: taken by
    /// [`Self::take_serial`] once a request made something with it, so a request that fails
    /// leaves the numbering as it was.
    fn next_serial(&self) -> u32 {
        let mut s = self.last;
        let mut wrapped = self.wrapped;
        loop {
            if s == SERIAL_MASK {
                wrapped = true;
            }
            s = s % SERIAL_MASK + 1;
            let live =
                |x: &Session| x.dataspaces.contains_key(&s) || x.cnodes.contains_key(&s) || x.threads.contains_key(&s);
            if !wrapped || !(self.sessions.contains_key(&s) || self.sessions.values().any(|x| live(x))) {
                return s;
            }
        }
    }

    fn take_serial<T>(&mut self, id: u32, made: Result<T, ErrorCode>) -> Result<T, ErrorCode> {
        if made.is_ok() {
            self.wrapped |= id <= self.last;
            self.last = id;
        }
        made
    }

    /// Serves `request`; the reply's words, or the error that left everything as it was.
    pub fn serve(&mut self, pd: &mut impl Pd, client: &Client, request: Request) -> Result<Words, ErrorCode> {
        match request {
            Request::Open { kind, ram_quota, cap_quota } => self.open(client, kind, ram_quota, cap_quota),
            Request::Close { session } => {
                let serial = serial(session, Named::Session)?;
                let s = self.sessions.remove(&serial).ok_or(ErrorCode::InvalidHandle)?;
                self.quotas.0 -= s.ram_quota;
                self.quotas.1 -= s.cap_quota as u64;
                s.close(pd, &mut self.ipc.pages);
                Ok(Done.to_words())
            }
            Request::Usage { session } => Ok(self.session(session, None)?.usage().to_words()),
            Request::RamAlloc { session, size, align_log2, cache, range } => {
                let id = self.next_serial();
                let made = self
                    .session(session, Some(SessionKind::Ram))
                    .and_then(|s| ram::alloc(pd, s, id, size, align_log2, cache, range));
                self.take_serial(id, made)
            }
            Request::RamMap { session, dataspace, vaddr } => self.map(pd, session, dataspace, vaddr),
            Request::RamCaps { session, dataspace, first_slot } => {
                ram::caps(pd, client, self.session(session, Some(SessionKind::Ram))?, dataspace, first_slot)
            }
            Request::RamFree { session, dataspace } => {
                ram::free(pd, self.session(session, Some(SessionKind::Ram))?, dataspace)
            }
            Request::CnodeCreate { session, log2_slots, slot } => {
                let id = self.next_serial();
                let made = self
                    .session(session, Some(SessionKind::Cnode))
                    .and_then(|s| cnode::create(pd, client, s, id, log2_slots, slot));
                self.take_serial(id, made)
            }
            Request::CnodeDestroy { session, cnode } => {
                cnode::destroy(pd, self.session(session, Some(SessionKind::Cnode))?, cnode)
            }
            Request::TcbCreate { session, prio } => {
                let id = self.next_serial();
                let made = Self::live(&mut self.sessions, session, Some(SessionKind::Tcb))
                    .and_then(|s| thread::create(pd, client, s, &mut self.ipc, id, prio));
                self.take_serial(id, made)
            }
            Request::TcbSetup { session, thread, entry, stack, arg } => {
                let regs = pd::Registers { entry, stack, arg, ..pd::Registers::default() };
                thread::act(self.session(session, Some(SessionKind::Tcb))?, thread, |t| pd.thread_registers(t, regs))
            }
            Request::TcbStart { session, thread } => {
                thread::act(self.session(session, Some(SessionKind::Tcb))?, thread, |t| pd.thread_resume(t))
            }
            Request::TcbStop { session, thread } => {
                thread::act(self.session(session, Some(SessionKind::Tcb))?, thread, |t| pd.thread_suspend(t))
            }
            Request::TcbDestroy { session, thread } => {
                let s = Self::live(&mut self.sessions, session, Some(SessionKind::Tcb))?;
                thread::destroy(pd, s, &mut self.ipc, thread)
            }
            // Log and exit are the server's, not a session's.
            Request::Log { .. }
            | Request::LogBuffer { .. }
            | Request::Channel { .. }
            | Request::Device { .. }
            | Request::Ack { .. }
            | Request::Exit { .. } => Err(ErrorCode::InvalidRequest),
        }
    }

    /// Maps a dataspace. Paging structures of the child's other sessions are off limits:
    /// closing one of them takes its structures, and every mapping below them, away. Apart
    /// from `serve` so that its table stays off the stack of every other request.
    #[inline(never)]
    fn map(&mut self, pd: &mut impl Pd, session: Handle, dataspace: Handle, vaddr: u64) -> Result<Words, ErrorCode> {
        let own = serial(session, Named::Session)?;
        // The IPC region is the child's, as a PDPT's span: no session maps there.
        let region = (ObjectType::Pdpt, thread::ipc_region().0);
        // Whether paging structures of the child's other sessions (or the IPC region) cover
        // any of the dataspace's span at `vaddr` (a handle that names nothing is the map's to
        // refuse).
        let span = serial(dataspace, Named::Dataspace)
            .ok()
            .and_then(|id| self.sessions.get(&own)?.dataspaces.get(&id))
            .map(|d| (vaddr, vaddr.saturating_add(d.size)));
        let covers = |(lo, hi): (u64, u64), (ty, va): (ObjectType, u64)| {
            let Some(bits) = ty.vspan_bits() else { return false };
            let start = va >> bits << bits;
            lo < start.saturating_add(1 << bits) && start < hi
        };
        let foreign = span.is_some_and(|span| {
            self.sessions
                .iter()
                .filter(|(&serial, _)| serial != own)
                .flat_map(|(_, s)| s.paging.iter().map(|p| (p.object.ty, p.va)))
                .chain([region])
                .any(|p| covers(span, p))
        });
        ram::map(pd, self.session(session, Some(SessionKind::Ram))?, dataspace, vaddr, foreign)
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
        let serial = self.next_serial();
        self.sessions.insert(serial, Box::new(Session::new(kind, ram_quota, cap_quota)));
        self.quotas.0 += ram_quota;
        self.quotas.1 += cap_quota as u64;
        self.take_serial(serial, Ok(()))?;
        Ok(OpenReply { session: handle(Named::Session, serial) }.to_words())
    }

    /// Live session `h`, which must be of `kind` if given: a handle of another kind names
    /// nothing.
    fn session(&mut self, h: Handle, kind: Option<SessionKind>) -> Result<&mut Session, ErrorCode> {
        Self::live(&mut self.sessions, h, kind)
    }

    fn live(
        sessions: &mut BTreeMap<u32, Box<Session>>,
        h: Handle,
        kind: Option<SessionKind>,
    ) -> Result<&mut Session, ErrorCode> {
        match sessions.get_mut(&serial(h, Named::Session)?) {
            Some(s) if kind.is_none_or(|k| k == s.kind) => Ok(s),
            _ => Err(ErrorCode::InvalidHandle),
        }
    }

    /// Frees everything every session holds (the child is gone); their reports first.
    pub fn close_all(&mut self, pd: &mut impl Pd, mut report: impl FnMut(Report)) {
        for r in self.reports() {
            report(r);
        }
        self.quotas = (0, 0);
        for (_, s) in core::mem::take(&mut self.sessions) {
            s.close(pd, &mut self.ipc.pages);
        }
        // The IPC region's paging structures last: no thread is left under them.
        for p in core::mem::take(&mut self.ipc.paging).iter().rev() {
            pd.free(p.object.handle);
        }
        self.ipc = Ipc::default();
    }
}
