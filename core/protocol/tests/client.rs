//! The typed client against a fake core: a small model that decodes each request with the
//! protocol's own decoder, keeps sessions and objects behind index-and-generation handles,
//! charges quotas, and answers with the protocol's typed answers.

use std::collections::BTreeSet;

use sel4_core_protocol::abi::FIRST_FREE_SLOT;
use sel4_core_protocol::answer::{Answer, CnodeCreateReply, Done, OpenReply, RamAllocReply, TcbCreateReply};
use sel4_core_protocol::client::{self, SessionError, Transport};
use sel4_core_protocol::layout;
use sel4_core_protocol::limits::{HUGE_PAGE_BITS, PAGE_BITS, SLOT_BITS, VADDR_LIMIT};
use sel4_core_protocol::reply::{MalformedReply, Reply, Words};
use sel4_core_protocol::session::{AllocOptions, CnodeSession, Dataspace, RamSession, TcbSession};
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle, Label, PhysRange, Request, SessionKind, MAX_WORDS};

use ErrorCode::*;

/// Bytes a thread costs in the fake: a TCB (2^11) and its IPC buffer page.
const THREAD_RAM: u64 = (1 << 11) + (1 << PAGE_BITS);
/// Physical memory the fake hands out.
const RAM: PhysRange = PhysRange { lo: 1 << 20, hi: 1 << 36 };
/// Where the fake puts IPC buffers, one page apart.
const IPC_BUFFERS: u64 = 0x7f00_0000_0000;

enum Object {
    Session { kind: SessionKind, ram: u64, caps: u64 },
    Dataspace { paddr: u64, size: u64, frame_bits: u8, vaddr: Option<u64>, slots: Option<(u64, u64)> },
    Cnode { ram: u64, slot: u64 },
    Thread { running: bool, entry: Option<u64> },
}

struct Entry {
    generation: u32,
    /// The session an object belongs to (`None` for a session).
    owner: Option<Handle>,
    object: Option<Object>,
}

struct FakeCore {
    entries: Vec<Entry>,
    budget_ram: u64,
    budget_caps: u64,
    prio: u8,
    next_paddr: u64,
    used_slots: BTreeSet<u64>,
    mappings: Vec<(u64, u64)>,
    max_words_seen: usize,
}

impl FakeCore {
    fn new(budget_ram: u64, budget_caps: u64, prio: u8) -> FakeCore {
        FakeCore {
            entries: Vec::new(),
            budget_ram,
            budget_caps,
            prio,
            next_paddr: RAM.lo,
            used_slots: BTreeSet::new(),
            mappings: Vec::new(),
            max_words_seen: 0,
        }
    }

    fn insert(&mut self, owner: Option<Handle>, object: Object) -> Handle {
        let index = match self.entries.iter().position(|e| e.object.is_none()) {
            Some(i) => i,
            None => {
                self.entries.push(Entry { generation: 0, owner: None, object: None });
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[index];
        e.generation += 1;
        e.owner = owner;
        e.object = Some(object);
        Handle(index as u32 | e.generation << 16)
    }

    /// The entry a handle names, if it is live, of `owner` (`None`: a session).
    fn lookup(&self, h: Handle, owner: Option<Handle>) -> Result<usize, ErrorCode> {
        let index = (h.0 & 0xffff) as usize;
        match self.entries.get(index) {
            Some(e) if e.generation == h.0 >> 16 && e.object.is_some() && e.owner == owner => Ok(index),
            _ => Err(InvalidHandle),
        }
    }

    fn session(&mut self, h: Handle, kind: SessionKind) -> Result<(&mut u64, &mut u64), ErrorCode> {
        let i = self.lookup(h, None)?;
        match &mut self.entries[i].object {
            Some(Object::Session { kind: k, ram, caps }) if *k == kind => Ok((ram, caps)),
            _ => Err(InvalidHandle),
        }
    }

    fn object(&mut self, session: Handle, kind: SessionKind, h: Handle) -> Result<usize, ErrorCode> {
        self.session(session, kind)?;
        self.lookup(h, Some(session))
    }

    fn charge(&mut self, session: Handle, kind: SessionKind, ram: u64, caps: u64) -> Result<(), ErrorCode> {
        let (r, c) = self.session(session, kind)?;
        if *r < ram {
            return Err(OutOfRamQuota);
        }
        if *c < caps {
            return Err(OutOfCapQuota);
        }
        *r -= ram;
        *c -= caps;
        Ok(())
    }

    /// Removes an object, giving its cost back to its session.
    fn remove(&mut self, i: usize) {
        let (owner, object) = (self.entries[i].owner, self.entries[i].object.take());
        let (ram, caps) = match object {
            Some(Object::Dataspace { size, vaddr, slots, .. }) => {
                if let Some(v) = vaddr {
                    self.mappings.retain(|&m| m != (v, size));
                }
                let (first, n) = slots.unwrap_or((0, 0));
                self.used_slots.retain(|s| !(first..first + n).contains(s));
                (size, n)
            }
            Some(Object::Cnode { ram, slot }) => {
                self.used_slots.remove(&slot);
                (ram, 1)
            }
            Some(Object::Thread { .. }) => (THREAD_RAM, 0),
            Some(Object::Session { .. }) | None => (0, 0),
        };
        if let Some(Some(Object::Session { ram: r, caps: c, .. })) =
            owner.and_then(|o| self.lookup(o, None).ok()).map(|s| self.entries[s].object.as_mut())
        {
            *r += ram;
            *c += caps;
        }
    }

    fn serve(&mut self, request: Request) -> Result<Words, ErrorCode> {
        fn done() -> Result<Words, ErrorCode> {
            Ok(Done.to_words())
        }
        match request {
            Request::Log { .. } | Request::LogBuffer { .. } | Request::Exit { .. } => done(),
            // This fake gives no channels or devices.
            Request::Channel { .. } | Request::Device { .. } | Request::Ack { .. } => Err(ErrorCode::Denied),
            // This fake keeps no quotas; core's session tests on the kernel model cover it.
            Request::Usage { .. } => Err(InvalidRequest),
            Request::Open { kind, ram_quota, cap_quota } => {
                if ram_quota > self.budget_ram {
                    return Err(OutOfRamQuota);
                }
                if cap_quota as u64 > self.budget_caps {
                    return Err(OutOfCapQuota);
                }
                self.budget_ram -= ram_quota;
                self.budget_caps -= cap_quota as u64;
                let session = self.insert(None, Object::Session { kind, ram: ram_quota, caps: cap_quota as u64 });
                Ok(OpenReply { session }.to_words())
            }
            Request::Close { session } => {
                let s = self.lookup(session, None)?;
                let owned: Vec<usize> = (0..self.entries.len())
                    .filter(|&i| self.entries[i].owner == Some(session) && self.entries[i].object.is_some())
                    .collect();
                owned.into_iter().for_each(|i| self.remove(i));
                if let Some(Object::Session { ram, caps, .. }) = self.entries[s].object.take() {
                    self.budget_ram += ram;
                    self.budget_caps += caps;
                }
                done()
            }
            Request::RamAlloc { session, size, align_log2, range, .. } => {
                self.session(session, SessionKind::Ram)?;
                let r = range.map_or(RAM, |r| PhysRange { lo: r.lo.max(RAM.lo), hi: r.hi.min(RAM.hi) });
                let free = PhysRange { lo: r.lo.max(self.next_paddr), hi: r.hi };
                let paddr = free.lowest_fit(size, align_log2).ok_or(NoMemory)?;
                self.charge(session, SessionKind::Ram, size, 0)?;
                self.next_paddr = paddr + size;
                let frame_bits = layout::largest_frame_bits(paddr, size, HUGE_PAGE_BITS).ok_or(InvalidArgument)?;
                let object = Object::Dataspace { paddr, size, frame_bits, vaddr: None, slots: None };
                let dataspace = self.insert(Some(session), object);
                Ok(RamAllocReply { dataspace, paddr, frame_bits }.to_words())
            }
            Request::RamMap { session, dataspace, vaddr } => {
                let i = self.object(session, SessionKind::Ram, dataspace)?;
                let Some(Object::Dataspace { paddr, size, frame_bits, vaddr: mapped, .. }) =
                    &mut self.entries[i].object
                else {
                    return Err(InvalidHandle);
                };
                let congruent = (vaddr ^ *paddr) % (1 << *frame_bits) == 0;
                let below = vaddr.checked_add(*size).is_some_and(|end| end <= VADDR_LIMIT);
                let overlaps = self.mappings.iter().any(|&(v, s)| vaddr < v + s && v < vaddr + *size);
                if mapped.is_some() || !congruent || !below || overlaps {
                    return Err(InvalidArgument);
                }
                *mapped = Some(vaddr);
                self.mappings.push((vaddr, *size));
                done()
            }
            Request::RamCaps { session, dataspace, first_slot } => {
                let i = self.object(session, SessionKind::Ram, dataspace)?;
                let Some(Object::Dataspace { paddr, size, frame_bits, slots, .. }) = &self.entries[i].object else {
                    return Err(InvalidHandle);
                };
                let n = layout::frames(*paddr, *size, *frame_bits).count() as u64;
                let end = first_slot.checked_add(n).ok_or(InvalidArgument)?;
                if slots.is_some() || self.used_slots.range(first_slot..end).next().is_some() {
                    return Err(InvalidArgument);
                }
                self.charge(session, SessionKind::Ram, 0, n)?;
                self.used_slots.extend(first_slot..end);
                if let Some(Object::Dataspace { slots, .. }) = &mut self.entries[i].object {
                    *slots = Some((first_slot, n));
                }
                done()
            }
            Request::RamFree { session, dataspace } => {
                let i = self.object(session, SessionKind::Ram, dataspace)?;
                self.remove(i);
                done()
            }
            Request::CnodeCreate { session, log2_slots, slot } => {
                self.session(session, SessionKind::Cnode)?;
                if self.used_slots.contains(&slot) {
                    return Err(InvalidArgument);
                }
                let ram = 1u64 << (log2_slots + SLOT_BITS);
                self.charge(session, SessionKind::Cnode, ram, 1)?;
                self.used_slots.insert(slot);
                let cnode = self.insert(Some(session), Object::Cnode { ram, slot });
                Ok(CnodeCreateReply { cnode }.to_words())
            }
            Request::CnodeDestroy { session, cnode } => {
                let i = self.object(session, SessionKind::Cnode, cnode)?;
                self.remove(i);
                done()
            }
            Request::TcbCreate { session, prio } => {
                self.session(session, SessionKind::Tcb)?;
                if prio > self.prio {
                    return Err(Denied);
                }
                self.charge(session, SessionKind::Tcb, THREAD_RAM, 0)?;
                let thread = self.insert(Some(session), Object::Thread { running: false, entry: None });
                let ipc_buffer = IPC_BUFFERS + ((thread.0 & 0xffff) as u64) * (1 << PAGE_BITS);
                Ok(TcbCreateReply { thread, ipc_buffer }.to_words())
            }
            Request::TcbSetup { session, thread, .. }
            | Request::TcbStart { session, thread }
            | Request::TcbStop { session, thread }
            | Request::TcbDestroy { session, thread } => {
                let i = self.object(session, SessionKind::Tcb, thread)?;
                let Some(Object::Thread { running, entry: set }) = &mut self.entries[i].object else {
                    return Err(InvalidHandle);
                };
                match request {
                    Request::TcbSetup { .. } if *running => return Err(InvalidArgument),
                    Request::TcbSetup { entry, .. } => *set = Some(entry),
                    Request::TcbStart { .. } if set.is_none() || *running => return Err(InvalidArgument),
                    Request::TcbStart { .. } => *running = true,
                    Request::TcbStop { .. } => *running = false,
                    _ => self.remove(i),
                }
                done()
            }
        }
    }
}

impl Transport for FakeCore {
    fn call(&mut self, label: u64, words: &[u64]) -> (u64, [u64; MAX_WORDS], usize) {
        self.max_words_seen = self.max_words_seen.max(words.len());
        Reply::from(Request::decode(label, words).and_then(|r| self.serve(r))).encode()
    }
}

fn refused<T: core::fmt::Debug>(r: Result<T, SessionError>) -> ErrorCode {
    match r {
        Err(SessionError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn ram_session_alloc_map_caps_free_close() {
    let mut core = FakeCore::new(1 << 32, 4096, 100);
    let ram = RamSession::open(&mut core, 1 << 31, 2048).unwrap();

    let small = ram.alloc(&mut core, 0x3000, AllocOptions::default()).unwrap();
    assert_eq!((small.size, small.paddr % 0x1000, small.frame_count()), (0x3000, 0, 3));

    let options = AllocOptions {
        align_log2: 30,
        cache: CacheAttr::WriteCombining,
        range: Some(PhysRange { lo: 1 << 32, hi: 1 << 34 }),
    };
    let huge = ram.alloc(&mut core, (1 << 30) + (2 << 20), options).unwrap();
    assert_eq!(huge.paddr, 1 << 32);
    assert_eq!(huge.frame_bits, 30);
    assert_eq!(huge.frames().map(|f| f.size_bits).collect::<Vec<_>>(), [30, 21]);

    ram.map(&mut core, small, 0x40_0000).unwrap();
    assert_eq!(refused(ram.map(&mut core, huge, 0x40_0000 + (1 << 21))), InvalidArgument, "not 1 GiB aligned");
    assert_eq!(refused(ram.map(&mut core, huge, 0x3fff_0000_0000 + 0x1000)), InvalidArgument, "unaligned");
    assert_eq!(refused(ram.map(&mut core, small, 0x80_0000)), InvalidArgument, "mapped already");
    assert_eq!(refused(ram.map(&mut core, huge, VADDR_LIMIT)), InvalidArgument);
    assert_eq!(refused(ram.map(&mut core, huge, VADDR_LIMIT - (1 << 30))), InvalidArgument, "ends above");
    ram.map(&mut core, huge, 1 << 40).unwrap();
    let other = ram.alloc(&mut core, 0x1000, AllocOptions::default()).unwrap();
    assert_eq!(refused(ram.map(&mut core, other, 0x40_2000)), InvalidArgument, "over a mapping");

    assert_eq!(ram.caps(&mut core, huge, FIRST_FREE_SLOT), Ok(2));
    assert_eq!(refused(ram.caps(&mut core, small, FIRST_FREE_SLOT + 1)), InvalidArgument, "slot in use");
    assert_eq!(refused(ram.caps(&mut core, small, 3)), InvalidArgument, "core's slot");
    assert_eq!(ram.caps(&mut core, small, FIRST_FREE_SLOT + 2), Ok(3));

    ram.free(&mut core, small).unwrap();
    assert_eq!(refused(ram.free(&mut core, small)), InvalidHandle);
    assert_eq!(refused(ram.map(&mut core, small, 0x40_0000)), InvalidHandle);
    let again = ram.alloc(&mut core, 0x1000, AllocOptions::default()).unwrap();
    assert_ne!(again.handle, small.handle, "a stale handle never names a new object");
    ram.map(&mut core, again, 0x40_0000).unwrap();

    ram.close(&mut core).unwrap();
    assert_eq!(refused(ram.alloc(&mut core, 0x1000, AllocOptions::default())), InvalidHandle);
    assert_eq!(refused(ram.free(&mut core, huge)), InvalidHandle);
    assert_eq!(refused(ram.close(&mut core)), InvalidHandle);
    assert!(core.max_words_seen <= MAX_WORDS);
}

#[test]
fn ram_alloc_refusals() {
    let mut core = FakeCore::new(1 << 24, 64, 100);
    let ram = RamSession::open(&mut core, 1 << 20, 16).unwrap();
    let alloc = |core: &mut FakeCore, size, options| refused(ram.alloc(core, size, options));
    let default = AllocOptions::default();
    assert_eq!(alloc(&mut core, 0, default), InvalidArgument);
    assert_eq!(alloc(&mut core, 0x1800, default), InvalidArgument);
    assert_eq!(alloc(&mut core, 0x1000, AllocOptions { align_log2: 48, ..default }), InvalidArgument);
    let range = |lo, hi| AllocOptions { range: Some(PhysRange { lo, hi }), ..default };
    assert_eq!(alloc(&mut core, 0x1000, range(0x10_0000, 0x10_0000)), InvalidArgument, "empty");
    assert_eq!(alloc(&mut core, 0x1000, range(0x20_0000, 0x10_0000)), InvalidArgument, "inverted");
    assert_eq!(alloc(&mut core, 0x1000, range(0, 0x1000)), NoMemory, "below the fake's RAM");
    assert_eq!(alloc(&mut core, 2 << 20, default), OutOfRamQuota);
    // The refusals changed nothing: the whole quota is still there.
    ram.alloc(&mut core, 1 << 20, default).unwrap();
}

#[test]
fn quotas_move_to_a_session_and_back_when_it_closes() {
    let mut core = FakeCore::new(4 << 20, 100, 100);
    assert_eq!(refused(RamSession::open(&mut core, (4 << 20) + 1, 0)), OutOfRamQuota);
    assert_eq!(refused(CnodeSession::open(&mut core, 0, 101)), OutOfCapQuota);
    let ram = RamSession::open(&mut core, 4 << 20, 100).unwrap();
    assert_eq!(refused(TcbSession::open(&mut core, 1, 0)), OutOfRamQuota);
    let ds = ram.alloc(&mut core, 2 << 20, AllocOptions { align_log2: 21, ..AllocOptions::default() }).unwrap();
    assert_eq!(ram.caps(&mut core, ds, 100), Ok(1));
    ram.close(&mut core).unwrap();
    let tcb = TcbSession::open(&mut core, 4 << 20, 100).unwrap();
    assert_eq!(tcb.handle().0 & 0xffff, ram.handle().0 & 0xffff, "the same entry, reused");
    assert_ne!(tcb.handle(), ram.handle());
}

#[test]
fn handles_of_another_session_or_kind_are_invalid() {
    let mut core = FakeCore::new(1 << 30, 1024, 100);
    let a = RamSession::open(&mut core, 1 << 24, 64).unwrap();
    let b = RamSession::open(&mut core, 1 << 24, 64).unwrap();
    let cnodes = CnodeSession::open(&mut core, 1 << 24, 64).unwrap();
    let ds = a.alloc(&mut core, 0x1000, AllocOptions::default()).unwrap();
    assert_eq!(refused(b.map(&mut core, ds, 0x1000)), InvalidHandle);
    assert_eq!(refused(b.free(&mut core, ds)), InvalidHandle);
    let as_ram = RamSession::from_handle(cnodes.handle());
    assert_eq!(refused(as_ram.alloc(&mut core, 0x1000, AllocOptions::default())), InvalidHandle);
    let as_cnodes = CnodeSession::from_handle(a.handle());
    assert_eq!(refused(as_cnodes.create(&mut core, 4, 40)), InvalidHandle);
    let cnode = cnodes.create(&mut core, 4, 40).unwrap();
    let as_dataspace = Dataspace { handle: cnode.handle, ..ds };
    assert_eq!(refused(a.free(&mut core, as_dataspace)), InvalidHandle);
    assert_eq!(refused(RamSession::from_handle(Handle(0xdead_beef)).close(&mut core)), InvalidHandle);
    a.free(&mut core, ds).unwrap();
}

#[test]
fn cnode_session_create_destroy() {
    let mut core = FakeCore::new(1 << 30, 1024, 100);
    let cnodes = CnodeSession::open(&mut core, 1 << 16, 2).unwrap();
    let c = cnodes.create(&mut core, 10, 32).unwrap();
    assert_eq!((c.log2_slots, c.slot), (10, 32));
    assert_eq!(refused(cnodes.create(&mut core, 4, 32)), InvalidArgument, "slot in use");
    assert_eq!(refused(cnodes.create(&mut core, 0, 33)), InvalidArgument);
    assert_eq!(refused(cnodes.create(&mut core, 43, 33)), InvalidArgument);
    assert_eq!(refused(cnodes.create(&mut core, 4, FIRST_FREE_SLOT - 1)), InvalidArgument);
    assert_eq!(refused(cnodes.create(&mut core, 11, 33)), OutOfRamQuota, "2^11 slots of 32 bytes");
    let d = cnodes.create(&mut core, 1, 33).unwrap();
    assert_eq!(refused(cnodes.create(&mut core, 1, 34)), OutOfCapQuota);
    cnodes.destroy(&mut core, c).unwrap();
    assert_eq!(refused(cnodes.destroy(&mut core, c)), InvalidHandle);
    cnodes.create(&mut core, 10, 32).unwrap();
    cnodes.close(&mut core).unwrap();
    assert_eq!(refused(cnodes.destroy(&mut core, d)), InvalidHandle);
}

#[test]
fn tcb_session_create_setup_start_stop_destroy() {
    let mut core = FakeCore::new(1 << 30, 1024, 100);
    let tcbs = TcbSession::open(&mut core, 1 << 16, 0).unwrap();
    assert_eq!(refused(tcbs.create(&mut core, 101)), Denied);
    let t = tcbs.create(&mut core, 100).unwrap();
    assert_eq!(t.ipc_buffer % 0x1000, 0);
    assert_eq!(refused(tcbs.start(&mut core, t)), InvalidArgument, "no entry yet");
    assert_eq!(refused(tcbs.setup(&mut core, t, 0x40_1000, 0x7fff_0008, 0)), InvalidArgument);
    assert_eq!(refused(tcbs.setup(&mut core, t, VADDR_LIMIT, 0x7fff_0000, 0)), InvalidArgument);
    tcbs.setup(&mut core, t, 0x40_1000, 0x7fff_0000, 42).unwrap();
    tcbs.start(&mut core, t).unwrap();
    assert_eq!(refused(tcbs.setup(&mut core, t, 0x40_1000, 0x7fff_0000, 42)), InvalidArgument, "running");
    tcbs.stop(&mut core, t).unwrap();
    tcbs.setup(&mut core, t, 0x40_2000, 0x7fff_0000, 43).unwrap();
    let u = tcbs.create(&mut core, 0).unwrap();
    assert_ne!(u.ipc_buffer, t.ipc_buffer);
    tcbs.destroy(&mut core, t).unwrap();
    for r in [tcbs.start(&mut core, t), tcbs.stop(&mut core, t), tcbs.destroy(&mut core, t)] {
        assert_eq!(refused(r), InvalidHandle);
    }
    tcbs.close(&mut core).unwrap();
    assert_eq!(refused(tcbs.destroy(&mut core, u)), InvalidHandle);
}

#[test]
fn raw_messages_get_core_answers() {
    let mut core = FakeCore::new(1 << 30, 1024, 100);
    assert_eq!(client::raw(&mut core, 99, &[]), Ok(Reply::Err(InvalidRequest)));
    assert_eq!(client::raw(&mut core, Label::Open as u64, &[1, 0]), Ok(Reply::Err(InvalidRequest)));
    assert_eq!(client::raw(&mut core, Label::Open as u64, &[1, 0, 0, 0, 0, 0]), Ok(Reply::Err(InvalidRequest)));
    assert_eq!(client::raw(&mut core, Label::Open as u64, &[5, 0, 0]), Ok(Reply::Err(InvalidArgument)));
    let reply = client::raw(&mut core, Label::Open as u64, &[SessionKind::Tcb as u64, 1 << 16, 0]).unwrap();
    let session = OpenReply::from_words(reply.into_result().unwrap().as_slice()).unwrap().session;
    let create = |prio: u64| session.to_word() | prio << 32;
    assert_eq!(client::raw(&mut core, Label::TcbCreate as u64, &[create(256)]), Ok(Reply::Err(InvalidArgument)));
    assert_eq!(client::raw(&mut core, Label::TcbCreate as u64, &[create(255)]), Ok(Reply::Err(Denied)));
    assert!(matches!(client::raw(&mut core, Label::TcbCreate as u64, &[create(7)]), Ok(Reply::Ok(_))));
    assert_eq!(client::close(&mut core, session), Ok(()));
}

/// A core that answers every call with the same message.
struct Answers(u64, [u64; MAX_WORDS], usize);

impl Transport for Answers {
    fn call(&mut self, _: u64, _: &[u64]) -> (u64, [u64; MAX_WORDS], usize) {
        (self.0, self.1, self.2)
    }
}

#[test]
fn malformed_replies_are_reported_as_such() {
    let malformed = |label, len| SessionError::MalformedReply(MalformedReply { label, len });
    let ram = RamSession::from_handle(Handle(1));
    let default = AllocOptions::default();
    assert_eq!(RamSession::open(&mut Answers(0, [1; 4], 5), 0, 0), Err(malformed(0, 5)));
    assert_eq!(RamSession::open(&mut Answers(0, [1; 4], 2), 0, 0), Err(malformed(0, 2)));
    assert_eq!(RamSession::open(&mut Answers(0, [1 << 32; 4], 1), 0, 0), Err(malformed(0, 1)));
    assert_eq!(ram.close(&mut Answers(3, [0; 4], 1)), Err(malformed(3, 1)));
    assert_eq!(ram.close(&mut Answers(42, [0; 4], 0)), Err(malformed(42, 0)));
    assert_eq!(ram.close(&mut Answers(0, [0; 4], 1)), Err(malformed(0, 1)));
    // An allocation that ignores the range or the alignment, or whose frames do not add up.
    let ranged = AllocOptions { range: Some(PhysRange { lo: 0, hi: 1 << 32 }), ..default };
    assert_eq!(ram.alloc(&mut Answers(0, [2, 1 << 32, 12, 0], 3), 0x1000, ranged), Err(malformed(0, 3)));
    let aligned = AllocOptions { align_log2: 16, ..default };
    assert_eq!(ram.alloc(&mut Answers(0, [2, 0x1000, 12, 0], 3), 0x1000, aligned), Err(malformed(0, 3)));
    assert_eq!(ram.alloc(&mut Answers(0, [2, 0x1000, 21, 0], 3), 0x1000, default), Err(malformed(0, 3)));
    assert_eq!(
        ram.alloc(&mut Answers(0, [2, 0x1000, 12, 0], 3), 0x1000, default),
        Ok(Dataspace { handle: Handle(2), paddr: 0x1000, size: 0x1000, frame_bits: 12 })
    );
    assert_eq!(ram.close(&mut Answers(Denied as u64, [0; 4], 0)), Err(SessionError::Refused(Denied)));
}

#[test]
fn session_errors_print_the_names_scripts_match() {
    assert_eq!(SessionError::Refused(OutOfCapQuota).to_string(), "OutOfCapQuota");
    assert_eq!(SessionError::Refused(OutOfCapQuota).code(), Some(OutOfCapQuota));
    let m = SessionError::MalformedReply(MalformedReply { label: 0x2a, len: 5 });
    assert_eq!(m.to_string(), "malformed reply (label 0x2a, 5 words)");
    assert_eq!(m.code(), None);
}
