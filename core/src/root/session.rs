//! Sessions a child opens with core: a quota moved from the child's budget (RAM bytes and cap
//! slots). A RAM session holds dataspaces of physically contiguous frames core places (the
//! largest frames that fit, at consecutive addresses core chose), mapped into the child with
//! the paging structures they need. A CNode session holds CNodes, each with a cap in a slot of
//! the child's CNode the child names. Every byte core spends for a session is charged to it:
//! its objects, the paging structures of its mappings, and core's record of each; every cap
//! slot too (core's and the child's). A request that fails changes nothing; closing a session
//! (or the child's end) frees all it holds.

use sel4::{cap_type, CNodeCapData, Cap, CapRights, UserContext, VmAttributes, Word};
use sel4_core_protocol::answer::{Answer, CnodeCreateReply, Done, OpenReply, RamAllocReply, TcbCreateReply};
use sel4_core_protocol::layout;
use sel4_core_protocol::limits::{PAGE_SIZE, VADDR_LIMIT};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle, PhysRange, Request, SessionKind};

use crate::object::ObjectType;
use crate::phys_allocator::{AllocFailure, Handle as ObjectHandle, Placed};
use crate::root::state::Core;
use crate::root::vspace::{self, Mapped, Mapping};

/// Sessions one child may hold at once.
pub const MAX_SESSIONS: usize = 4;
/// Dataspaces one session may hold at once.
pub const MAX_DATASPACES: usize = 32;
/// Frames and paging structures one session may hold.
pub const MAX_OBJECTS: usize = 128;
/// Bytes core charges a session for its record of one dataspace.
pub const DATASPACE_RECORD: u64 = size_of::<Dataspace>() as u64;

/// What owns a session's object.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Owner {
    Dataspace(u8),
    Paging,
    Cnode(u8),
    Thread(u8),
}

/// A thread a TCB session holds: its TCB in core's CSpace.
#[derive(Copy, Clone)]
struct ThreadRecord {
    generation: u16,
    live: bool,
    tcb: crate::kernel::Slot,
}

/// Threads one session may hold at once.
pub const MAX_THREADS: usize = 8;
/// Cap slots a thread costs its session: core's caps to its TCB and IPC buffer frame.
const THREAD_CAP_SLOTS: u32 = 2;
/// Where threads' IPC buffers go in the child: pages above its image, below its stack
/// (`child::IMAGE_LIMIT` up), one per session and thread.
const THREAD_IPC_BASE: u64 = crate::root::child::IMAGE_LIMIT;

/// A CNode a session holds.
#[derive(Copy, Clone)]
struct CnodeRecord {
    generation: u16,
    live: bool,
}

/// CNodes one session may hold at once.
pub const MAX_CNODES: usize = 16;
/// Cap slots a CNode costs its session: core's cap to it and the child's.
const CNODE_CAP_SLOTS: u32 = 2;

#[derive(Copy, Clone)]
struct Object {
    handle: ObjectHandle,
    slot: crate::kernel::Slot,
    /// Physical address: a dataspace's frames are used in address order.
    paddr: u64,
    bytes: u64,
    owner: Owner,
}

impl Object {
    /// The record of an object core just placed for a session.
    fn placed(p: Placed, bytes: u64, owner: Owner) -> Object {
        Object { handle: p.handle, slot: p.slot, paddr: p.paddr, bytes, owner }
    }
}

#[derive(Copy, Clone)]
pub struct Dataspace {
    generation: u16,
    live: bool,
    /// Frame caps handed to the client (cap quota they take).
    caps: u32,
    paddr: u64,
    size: u64,
    frame_bits: u8,
    cache: CacheAttr,
    mapped: Option<u64>,
}

impl Dataspace {
    const EMPTY: Dataspace = Dataspace {
        generation: 0,
        caps: 0,
        live: false,
        paddr: 0,
        size: 0,
        frame_bits: 0,
        cache: CacheAttr::Cached,
        mapped: None,
    };
}

/// One session.
pub struct Session {
    kind: SessionKind,
    generation: u16,
    live: bool,
    caps_used: u32,
    cnodes: [CnodeRecord; MAX_CNODES],
    threads: [ThreadRecord; MAX_THREADS],
    ram_quota: u64,
    cap_quota: u32,
    used: u64,
    /// The most `used` ever was.
    peak: u64,
    dataspaces: [Dataspace; MAX_DATASPACES],
    objects: heapless::Vec<Object, MAX_OBJECTS>,
}

impl Session {
    const fn empty() -> Session {
        Session {
            kind: SessionKind::Ram,
            generation: 0,
            live: false,
            caps_used: 0,
            cnodes: [CnodeRecord { generation: 0, live: false }; MAX_CNODES],
            threads: [ThreadRecord { generation: 0, live: false, tcb: crate::kernel::Slot(0) }; MAX_THREADS],
            ram_quota: 0,
            cap_quota: 0,
            used: 0,
            peak: 0,
            dataspaces: [Dataspace::EMPTY; MAX_DATASPACES],
            objects: heapless::Vec::new(),
        }
    }
}

/// A child's sessions, and what of its budget they hold.
pub struct Sessions {
    sessions: [Session; MAX_SESSIONS],
}

/// A handle: the index in the low 16 bits, a generation in the high 16, so a stale or forged one
/// names nothing.
fn handle(index: usize, generation: u16) -> Handle {
    Handle((generation as u32) << 16 | index as u32)
}

fn split(h: Handle) -> (usize, u16) {
    ((h.0 & 0xffff) as usize, (h.0 >> 16) as u16)
}

/// What serving a request needs of the child.
pub struct Client<'a> {
    /// The child's name, for core's log.
    pub name: &'a str,
    /// The child's VSpace (PML4) in core's CSpace.
    pub vspace: crate::kernel::Slot,
    /// The child's CNode in core's CSpace, and its radix.
    pub cnode: crate::kernel::Slot,
    pub cnode_bits: u8,
    /// The child's own priority: its threads get no higher one.
    pub prio: u8,
    /// RAM and cap slots of the child's budget not yet charged or lent to a session.
    pub ram_left: u64,
    pub caps_left: u64,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions { sessions: [const { Session::empty() }; MAX_SESSIONS] }
    }
}

impl Sessions {
    /// Bytes of kernel objects the open sessions hold (what freeing them gives the allocator
    /// back; their quotas also count core's records of them).
    pub fn object_bytes(&self) -> u64 {
        self.sessions.iter().filter(|s| s.live).flat_map(|s| s.objects.iter()).map(|o| o.bytes).sum()
    }

    /// RAM and cap slots lent to open sessions.
    pub fn lent(&self) -> (u64, u64) {
        self.sessions.iter().filter(|s| s.live).fold((0, 0), |(r, c), s| (r + s.ram_quota, c + s.cap_quota as u64))
    }

    /// Serves `request`; the reply's words, or the error that left everything as it was.
    pub fn serve(&mut self, core: &mut Core, client: &Client<'_>, request: Request) -> Result<Words, ErrorCode> {
        match request {
            Request::Open { kind, ram_quota, cap_quota } => {
                if ram_quota > client.ram_left {
                    return Err(ErrorCode::OutOfRamQuota);
                }
                if cap_quota as u64 > client.caps_left {
                    return Err(ErrorCode::OutOfCapQuota);
                }
                let i = self.sessions.iter().position(|s| !s.live).ok_or(ErrorCode::OutOfRamQuota)?;
                let s = &mut self.sessions[i];
                s.generation = s.generation.wrapping_add(1);
                s.live = true;
                s.ram_quota = ram_quota;
                s.cap_quota = cap_quota;
                s.used = 0;
                s.peak = 0;
                s.kind = kind;
                s.caps_used = 0;
                Ok(OpenReply { session: handle(i, s.generation) }.to_words())
            }
            Request::Close { session } => {
                let s = self.session(session)?;
                report(client.name, session, s);
                stop_threads(s);
                release(core, s, None);
                s.live = false;
                Ok(Done.to_words())
            }
            Request::RamAlloc { session, size, align_log2, cache, range } => {
                let s = self.session_of(session, SessionKind::Ram)?;
                alloc(core, s, size, align_log2, cache, range)
            }
            Request::RamMap { session, dataspace, vaddr } => {
                let s = self.session_of(session, SessionKind::Ram)?;
                map(core, client, s, dataspace, vaddr).map(|()| Done.to_words())
            }
            Request::RamFree { session, dataspace } => {
                let s = self.session_of(session, SessionKind::Ram)?;
                let d = dataspace_index(s, dataspace)?;
                release(core, s, Some(Owner::Dataspace(d as u8)));
                s.dataspaces[d].live = false;
                s.used -= DATASPACE_RECORD;
                s.caps_used -= s.dataspaces[d].caps;
                Ok(Done.to_words())
            }
            Request::CnodeCreate { session, log2_slots, slot } => {
                let s = self.session_of(session, SessionKind::Cnode)?;
                cnode_create(core, client, s, log2_slots, slot)
            }
            Request::CnodeDestroy { session, cnode } => {
                let s = self.session_of(session, SessionKind::Cnode)?;
                let (i, generation) = split(cnode);
                match s.cnodes.get(i) {
                    Some(c) if c.live && c.generation == generation => {}
                    _ => return Err(ErrorCode::InvalidHandle),
                }
                release(core, s, Some(Owner::Cnode(i as u8)));
                s.cnodes[i].live = false;
                s.used -= DATASPACE_RECORD;
                s.caps_used -= CNODE_CAP_SLOTS;
                Ok(Done.to_words())
            }
            Request::TcbCreate { session, prio } => {
                if prio > client.prio {
                    return Err(ErrorCode::Denied);
                }
                let index = self.index_of(session)?;
                let s = self.session_of(session, SessionKind::Tcb)?;
                thread_create(core, client, s, index, prio)
            }
            Request::TcbSetup { session, thread, entry, stack, arg } => {
                let s = self.session_of(session, SessionKind::Tcb)?;
                let t = thread_of(s, thread)?;
                let regs = UserContext { rip: entry, rsp: stack, rdi: arg, ..UserContext::default() };
                tcb(t).tcb_write_registers(false, UserContext::COUNT, &regs).map_err(|_| ErrorCode::InvalidArgument)?;
                Ok(Done.to_words())
            }
            Request::TcbStart { session, thread } => {
                let s = self.session_of(session, SessionKind::Tcb)?;
                tcb(thread_of(s, thread)?).tcb_resume().map_err(|_| ErrorCode::InvalidArgument)?;
                Ok(Done.to_words())
            }
            Request::TcbStop { session, thread } => {
                let s = self.session_of(session, SessionKind::Tcb)?;
                tcb(thread_of(s, thread)?).tcb_suspend().map_err(|_| ErrorCode::InvalidArgument)?;
                Ok(Done.to_words())
            }
            Request::TcbDestroy { session, thread } => {
                let s = self.session_of(session, SessionKind::Tcb)?;
                let (i, _) = split(thread);
                thread_of(s, thread)?;
                let _ = tcb(s.threads[i].tcb).tcb_suspend();
                release(core, s, Some(Owner::Thread(i as u8)));
                s.threads[i].live = false;
                s.used -= DATASPACE_RECORD;
                s.caps_used -= THREAD_CAP_SLOTS;
                Ok(Done.to_words())
            }
            Request::RamCaps { session, dataspace, first_slot } => {
                let s = self.session_of(session, SessionKind::Ram)?;
                ram_caps(core, client, s, dataspace, first_slot).map(|()| Done.to_words())
            }
            // Log and exit are the server's, not a session's.
            Request::Log { .. } | Request::Exit { .. } => Err(ErrorCode::InvalidRequest),
        }
    }

    /// The index of live session `h`.
    fn index_of(&mut self, h: Handle) -> Result<usize, ErrorCode> {
        self.session(h)?;
        Ok(split(h).0)
    }

    /// Session `h`, which must be of `kind`: a handle of another kind names nothing.
    fn session_of(&mut self, h: Handle, kind: SessionKind) -> Result<&mut Session, ErrorCode> {
        match self.session(h)? {
            s if s.kind == kind => Ok(s),
            _ => Err(ErrorCode::InvalidHandle),
        }
    }

    fn session(&mut self, h: Handle) -> Result<&mut Session, ErrorCode> {
        let (i, generation) = split(h);
        match self.sessions.get_mut(i) {
            Some(s) if s.live && s.generation == generation => Ok(s),
            _ => Err(ErrorCode::InvalidHandle),
        }
    }

    /// Frees everything every session of child `name` holds (the child is gone).
    pub fn close_all(&mut self, core: &mut Core, name: &str) {
        for (i, s) in self.sessions.iter_mut().enumerate().filter(|(_, s)| s.live) {
            report(name, handle(i, s.generation), s);
            stop_threads(s);
            release(core, s, None);
            s.live = false;
        }
    }
}

/// Prints a session's quota, what core spends for it now and at most, and what is left.
fn report(name: &str, h: Handle, s: &Session) {
    sel4_root_task::println!(
        "session {:#x} of {name} ({}): quota {} bytes, used {} (at most {}), left {}; cap quota {}, used {}",
        h.0,
        match s.kind {
            SessionKind::Ram => "RAM",
            SessionKind::Cnode => "CNode",
            SessionKind::Tcb => "TCB",
        },
        s.ram_quota,
        s.used,
        s.peak,
        s.ram_quota - s.used,
        s.cap_quota,
        s.caps_used
    );
}

fn dataspace_index(s: &Session, h: Handle) -> Result<usize, ErrorCode> {
    let (i, generation) = split(h);
    match s.dataspaces.get(i) {
        Some(d) if d.live && d.generation == generation => Ok(i),
        _ => Err(ErrorCode::InvalidHandle),
    }
}

/// Frees the objects of `s` owned by `only`, or all of them.
fn release(core: &mut Core, s: &mut Session, only: Option<Owner>) {
    let mut i = s.objects.len();
    while i > 0 {
        i -= 1;
        let o = s.objects[i];
        if only.is_none_or(|owner| o.owner == owner) {
            // Freeing revokes the leaf: every copy and mapping of the object dies with it.
            let _ = core.ours.free(&mut core.kernel, o.handle);
            s.used -= o.bytes;
            s.objects.swap_remove(i);
        }
    }
}

/// The largest frame this kernel configuration has.
fn max_frame_bits() -> u8 {
    let huge = ObjectType::Frame1G;
    match (huge.into_word(), huge.fixed_bits()) {
        (Some(_), Some(b)) => b,
        _ => ObjectType::Frame2M.fixed_bits().unwrap_or(12),
    }
}

fn frame_type(bits: u8) -> ObjectType {
    if Some(bits) == ObjectType::Frame1G.fixed_bits() {
        ObjectType::Frame1G
    } else if Some(bits) == ObjectType::Frame2M.fixed_bits() {
        ObjectType::Frame2M
    } else {
        ObjectType::Frame4K
    }
}

fn alloc(
    core: &mut Core,
    s: &mut Session,
    size: u64,
    align_log2: u8,
    cache: CacheAttr,
    range: Option<PhysRange>,
) -> Result<Words, ErrorCode> {
    let need = size.checked_add(DATASPACE_RECORD).ok_or(ErrorCode::OutOfRamQuota)?;
    if s.used.checked_add(need).is_none_or(|u| u > s.ram_quota) {
        return Err(ErrorCode::OutOfRamQuota);
    }
    let d = s.dataspaces.iter().position(|d| !d.live).ok_or(ErrorCode::OutOfRamQuota)?;
    let align = align_log2.max(PAGE_SIZE.trailing_zeros() as u8);
    let base = core.ours.find_block(size, align, range.map(|r| (r.lo, r.hi))).map_err(|_| ErrorCode::NoMemory)?;
    let max_bits = max_frame_bits();
    let mut placed: heapless::Vec<Object, MAX_OBJECTS> = heapless::Vec::new();
    let mut frame_bits = 0;
    for f in layout::frames(base, size, max_bits) {
        let ty = frame_type(f.size_bits);
        let ok = match core.ours.alloc_at(&mut core.kernel, ty, 0, f.paddr) {
            Ok(p) => placed.push(Object::placed(p, 1 << f.size_bits, Owner::Dataspace(d as u8))).is_ok(),
            Err(_) => false,
        };
        if !ok || s.objects.len() + placed.len() > MAX_OBJECTS {
            for o in placed.iter().rev() {
                let _ = core.ours.free(&mut core.kernel, o.handle);
            }
            return Err(if ok { ErrorCode::OutOfRamQuota } else { ErrorCode::NoMemory });
        }
        frame_bits = frame_bits.max(f.size_bits);
    }
    for o in placed {
        let _ = s.objects.push(o);
    }
    s.used += need;
    s.peak = s.peak.max(s.used);
    let ds = &mut s.dataspaces[d];
    ds.generation = ds.generation.wrapping_add(1);
    *ds = Dataspace {
        generation: ds.generation,
        live: true,
        caps: 0,
        paddr: base,
        size,
        frame_bits,
        cache,
        mapped: None,
    };
    Ok(RamAllocReply { dataspace: handle(d, ds.generation), paddr: base, frame_bits }.to_words())
}

fn map(core: &mut Core, client: &Client, s: &mut Session, dataspace: Handle, vaddr: u64) -> Result<(), ErrorCode> {
    let d = dataspace_index(s, dataspace)?;
    let ds = s.dataspaces[d];
    let align = (1u64 << ds.frame_bits) - 1;
    if ds.mapped.is_some()
        || vaddr & align != ds.paddr & align
        || vaddr.checked_add(ds.size).is_none_or(|e| e > VADDR_LIMIT)
    {
        return Err(ErrorCode::InvalidArgument);
    }
    let attrs = match ds.cache {
        CacheAttr::Cached => VmAttributes::DEFAULT,
        CacheAttr::WriteCombining => VmAttributes::WRITE_COMBINING,
        CacheAttr::Uncached => VmAttributes::CACHE_DISABLED,
    };
    let how = Mapping { vspace: Cap::from_bits(client.vspace.0 as Word), rights: CapRights::read_write(), attrs };
    let frames = frames_of(s, d);
    let (quota, mut used) = (s.ram_quota, s.used);
    let mut paging: heapless::Vec<Object, 64> = heapless::Vec::new();
    let mut failed = None;
    let mut done_frames = 0;
    let mut va = vaddr;
    for o in &frames {
        let bits = o.bytes.trailing_zeros() as u8;
        let mut out_of_quota = false;
        let r = {
            let (ours, kernel) = (&mut core.ours, &mut core.kernel);
            let mut place = |ty: ObjectType| {
                let bytes = ty.object_bits(0).map(|b| 1u64 << b).unwrap_or(PAGE_SIZE);
                if used + bytes > quota || paging.is_full() {
                    out_of_quota = true;
                    return Err(AllocFailure::NoBlock);
                }
                let p = ours.alloc(kernel, ty, 0)?;
                used += bytes;
                let _ = paging.push(Object::placed(p, bytes, Owner::Paging));
                Ok(p.slot)
            };
            let mut m = Mapped::default();
            vspace::map_frame(&mut place, how, o.slot, frame_type(bits), va, &mut m)
        };
        if r.is_err() {
            failed = Some(if out_of_quota { ErrorCode::OutOfRamQuota } else { ErrorCode::InvalidArgument });
            break;
        }
        done_frames += 1;
        va += o.bytes;
    }
    if failed.is_none() && s.objects.len() + paging.len() > MAX_OBJECTS {
        failed = Some(ErrorCode::OutOfRamQuota);
    }
    if let Some(e) = failed {
        // Undo: unmap what was mapped, free the paging structures placed for it.
        for o in &frames[..done_frames] {
            let _ = Cap::<cap_type::Frame4K>::from_bits(o.slot.0 as Word).frame_unmap();
        }
        for o in paging.iter().rev() {
            let _ = core.ours.free(&mut core.kernel, o.handle);
        }
        return Err(e);
    }
    for o in paging {
        let _ = s.objects.push(o);
    }
    s.used = used;
    s.peak = s.peak.max(used);
    s.dataspaces[d].mapped = Some(vaddr);
    Ok(())
}

fn cnode_create(
    core: &mut Core,
    client: &Client<'_>,
    s: &mut Session,
    log2_slots: u8,
    slot: u64,
) -> Result<Words, ErrorCode> {
    // The slot must exist in the child's CNode (the kernel would say FailedLookup).
    if slot >> client.cnode_bits != 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    let bytes = ObjectType::CNode.object_bits(log2_slots).map(|b| 1u64 << b).map_err(|_| ErrorCode::InvalidArgument)?;
    let need = bytes + DATASPACE_RECORD;
    if s.used.checked_add(need).is_none_or(|u| u > s.ram_quota) {
        return Err(ErrorCode::OutOfRamQuota);
    }
    if s.caps_used + CNODE_CAP_SLOTS > s.cap_quota {
        return Err(ErrorCode::OutOfCapQuota);
    }
    let i = s.cnodes.iter().position(|c| !c.live).ok_or(ErrorCode::OutOfCapQuota)?;
    if s.objects.is_full() {
        return Err(ErrorCode::OutOfRamQuota);
    }
    let p = core.ours.alloc(&mut core.kernel, ObjectType::CNode, log2_slots).map_err(|_| ErrorCode::NoMemory)?;
    let child_cnode: Cap<cap_type::CNode> = Cap::from_bits(client.cnode.0 as Word);
    let dest = child_cnode.relative_bits_with_depth(slot, client.cnode_bits as usize);
    if dest.copy(&core.kernel.inner.slot(p.slot), CapRights::all()).is_err() {
        // The slot holds a cap already (DeleteFirst): nothing was made.
        let _ = core.ours.free(&mut core.kernel, p.handle);
        return Err(ErrorCode::InvalidArgument);
    }
    let _ = s.objects.push(Object::placed(p, bytes, Owner::Cnode(i as u8)));
    s.used += need;
    s.peak = s.peak.max(s.used);
    s.caps_used += CNODE_CAP_SLOTS;
    let c = &mut s.cnodes[i];
    c.generation = c.generation.wrapping_add(1);
    c.live = true;
    Ok(CnodeCreateReply { cnode: handle(i, c.generation) }.to_words())
}

fn tcb(slot: crate::kernel::Slot) -> Cap<cap_type::Tcb> {
    Cap::from_bits(slot.0 as Word)
}

/// The live thread `h` of `s`, or InvalidHandle.
fn thread_of(s: &Session, h: Handle) -> Result<crate::kernel::Slot, ErrorCode> {
    let (i, generation) = split(h);
    match s.threads.get(i) {
        Some(t) if t.live && t.generation == generation => Ok(t.tcb),
        _ => Err(ErrorCode::InvalidHandle),
    }
}

/// Suspends every thread of `s` before its objects go (a thread never runs on freed memory).
fn stop_threads(s: &Session) {
    for t in s.threads.iter().filter(|t| t.live) {
        let _ = tcb(t.tcb).tcb_suspend();
    }
}

/// A thread in the child's PD: a TCB and an IPC buffer core places (charged to the session),
/// the buffer mapped at a page core chooses, configured like the child's first thread at
/// priority `prio`, and left stopped.
fn thread_create(
    core: &mut Core,
    client: &Client<'_>,
    s: &mut Session,
    index: usize,
    prio: u8,
) -> Result<Words, ErrorCode> {
    let tcb_bytes = ObjectType::Tcb.object_bits(0).map(|b| 1u64 << b).unwrap_or(0);
    let need = tcb_bytes + PAGE_SIZE + DATASPACE_RECORD;
    if s.used.checked_add(need).is_none_or(|u| u > s.ram_quota) {
        return Err(ErrorCode::OutOfRamQuota);
    }
    if s.caps_used + THREAD_CAP_SLOTS > s.cap_quota {
        return Err(ErrorCode::OutOfCapQuota);
    }
    let i = s.threads.iter().position(|t| !t.live).ok_or(ErrorCode::OutOfCapQuota)?;
    if s.objects.len() + 2 > MAX_OBJECTS {
        return Err(ErrorCode::OutOfRamQuota);
    }
    let ipc_vaddr = THREAD_IPC_BASE + ((index * MAX_THREADS + i) as u64) * PAGE_SIZE;
    let t = core.ours.alloc(&mut core.kernel, ObjectType::Tcb, 0).map_err(|_| ErrorCode::NoMemory)?;
    let f = match core.ours.alloc(&mut core.kernel, ObjectType::Frame4K, 0) {
        Ok(f) => f,
        Err(_) => {
            let _ = core.ours.free(&mut core.kernel, t.handle);
            return Err(ErrorCode::NoMemory);
        }
    };
    let undo = |core: &mut Core| {
        let _ = core.ours.free(&mut core.kernel, f.handle);
        let _ = core.ours.free(&mut core.kernel, t.handle);
    };
    let frame: Cap<cap_type::Frame4K> = Cap::from_bits(f.slot.0 as Word);
    let vspace: Cap<cap_type::Pml4> = Cap::from_bits(client.vspace.0 as Word);
    // The page table there is the child's stack's (same 2 MiB region), already charged to it.
    if frame.frame_map(vspace, ipc_vaddr, CapRights::read_write(), VmAttributes::DEFAULT).is_err() {
        undo(core);
        return Err(ErrorCode::NoMemory);
    }
    let guard = CNodeCapData::skip(crate::object::WORD_BITS - client.cnode_bits).map(CNodeCapData::into_word);
    let configured = tcb(t.slot).tcb_configure(
        sel4::CPtr::from_bits(sel4_core_protocol::abi::FAULT_ENDPOINT),
        prio,
        prio,
        Cap::from_bits(client.cnode.0 as Word),
        guard.unwrap_or(0),
        vspace,
        0,
        ipc_vaddr,
        frame,
    );
    if configured.is_err() || guard.is_none() {
        undo(core);
        return Err(ErrorCode::InvalidArgument);
    }
    let owner = Owner::Thread(i as u8);
    let _ = s.objects.push(Object::placed(t, tcb_bytes, owner));
    let _ = s.objects.push(Object::placed(f, PAGE_SIZE, owner));
    s.used += need;
    s.peak = s.peak.max(s.used);
    s.caps_used += THREAD_CAP_SLOTS;
    let r = &mut s.threads[i];
    r.generation = r.generation.wrapping_add(1);
    *r = ThreadRecord { generation: r.generation, live: true, tcb: t.slot };
    Ok(TcbCreateReply { thread: handle(i, r.generation), ipc_buffer: ipc_vaddr }.to_words())
}

/// The frames of dataspace `d` of `s`, in address order.
fn frames_of(s: &Session, d: usize) -> heapless::Vec<Object, MAX_OBJECTS> {
    let mut frames: heapless::Vec<Object, MAX_OBJECTS> =
        s.objects.iter().copied().filter(|o| o.owner == Owner::Dataspace(d as u8)).collect();
    frames.sort_unstable_by_key(|o| o.paddr);
    frames
}

/// Copies the caps of dataspace `dataspace`'s frames, in address order, into consecutive slots
/// of the child's CNode from `first_slot` on (a slot outside it or holding a cap already is
/// InvalidArgument; nothing is copied then). Freeing the dataspace revokes the copies.
fn ram_caps(
    core: &mut Core,
    client: &Client<'_>,
    s: &mut Session,
    dataspace: Handle,
    first_slot: u64,
) -> Result<(), ErrorCode> {
    let d = dataspace_index(s, dataspace)?;
    let frames = frames_of(s, d);
    let n = frames.len() as u64;
    if first_slot.checked_add(n).is_none_or(|end| end > 1u64 << client.cnode_bits) {
        return Err(ErrorCode::InvalidArgument);
    }
    if s.caps_used as u64 + n > s.cap_quota as u64 {
        return Err(ErrorCode::OutOfCapQuota);
    }
    let child_cnode: Cap<cap_type::CNode> = Cap::from_bits(client.cnode.0 as Word);
    let dest = |i: u64| child_cnode.relative_bits_with_depth(first_slot + i, client.cnode_bits as usize);
    for (i, f) in frames.iter().enumerate() {
        if dest(i as u64).copy(&core.kernel.inner.slot(f.slot), CapRights::read_write()).is_err() {
            for j in 0..i {
                let _ = dest(j as u64).delete();
            }
            return Err(ErrorCode::InvalidArgument);
        }
    }
    s.caps_used += n as u32;
    s.dataspaces[d].caps += n as u32;
    Ok(())
}
