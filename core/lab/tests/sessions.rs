//! core's sessions against the kernel model: random sequences of requests from one child
//! (valid, invalid, forged, stale) never take a session past its quotas, charge each session
//! exactly its record plus each object's cost, change nothing when they fail, and leave every
//! byte and slot back where it was once all sessions are closed. Also: a quota that fits a
//! request exactly serves it, one byte or one slot less refuses it.
//!
//! Case count: 128, or `PROPTEST_CASES` (`cargo run -p run -- soak` runs many more).

use proptest::prelude::*;
use sel4_core::kernel::{Slot, UntypedDesc};
use sel4_core::session::{Client, Sessions, HANDLE_RECORD, SESSION_RECORD};
use sel4_core::untyped_pool::NodeState;
use sel4_core_lab::child_model::ModelPd;
use sel4_core_lab::rig::{Options, Rig};
use sel4_core_protocol::abi::FIRST_FREE_SLOT;
use sel4_core_protocol::answer::{Answer, CnodeCreateReply, OpenReply, RamAllocReply, TcbCreateReply, UsageReply};
use sel4_core_protocol::charges::OBJECT_RECORD;
use sel4_core_protocol::{CacheAttr, ErrorCode, Handle, PhysRange, Request, SessionKind};

/// The child's CNode radix, priority, budget, and where its own page table is.
const CNODE_BITS: u8 = 8;
const PRIO: u8 = 100;
const BUDGET_RAM: u64 = 24 << 20;
const BUDGET_CAPS: u64 = 200;
const OWN_TABLE: u64 = 0x3ff0_0000;

/// RAM from 1 MiB to 64 MiB in blocks of every size from 1 MiB to 32 MiB, and a device block.
fn layout() -> Vec<UntypedDesc> {
    let mut v: Vec<UntypedDesc> = (20..26)
        .enumerate()
        .map(|(i, b)| UntypedDesc { slot: Slot(i as u32 + 1), paddr: 1 << b, size_bits: b, is_device: false })
        .collect();
    v.push(UntypedDesc { slot: Slot(7), paddr: 0xfe00_0000, size_bits: 20, is_device: true });
    v
}

/// A request picked by indices into the handles seen so far (forged when out of them).
#[derive(Clone, Debug)]
enum Op {
    Open { kind: usize, ram: u64, caps: u32 },
    Close(u16),
    Usage(u16),
    Alloc { s: u16, pages: u64, align: u8, cache: usize, range: Option<(u64, u64)> },
    Map { s: u16, d: u16, vaddr: u64 },
    Caps { s: u16, d: u16, slot: u64 },
    Free { s: u16, d: u16 },
    Cnode { s: u16, bits: u8, slot: u64 },
    CnodeDestroy { s: u16, c: u16 },
    Thread { s: u16, prio: u8 },
    Setup { s: u16, t: u16 },
    Start { s: u16, t: u16 },
    Stop { s: u16, t: u16 },
    ThreadDestroy { s: u16, t: u16 },
    Raw { label: u64, words: Vec<u64> },
}

fn op() -> impl Strategy<Value = Op> {
    let idx = || any::<u16>();
    let range = proptest::option::of((0u64..80, 1u64..80).prop_map(|(lo, n)| (lo << 20, (lo + n) << 20)));
    prop_oneof![
        3 => (0usize..3, prop_oneof![0u64..(64 << 10), 0u64..(8 << 20), 0u64..(32 << 20)], 0u32..120)
            .prop_map(|(kind, ram, caps)| Op::Open { kind, ram, caps }),
        1 => idx().prop_map(Op::Close),
        1 => idx().prop_map(Op::Usage),
        4 => (idx(), prop_oneof![1u64..8, 1u64..1100, 1u64..6000], prop_oneof![Just(0u8), 12u8..24], 0usize..3, range)
            .prop_map(|(s, pages, align, cache, range)| Op::Alloc { s, pages, align, cache, range }),
        3 => (
            idx(),
            idx(),
            // GiB 0 (the child's own page directory), a fresh GiB, a fresh 512 GiB.
            prop_oneof![Just(0x1000_0000u64), Just(0x40_0000_0000), Just(0x80_0000_0000)],
            0u64..4,
            prop_oneof![Just(0u64), Just(0x1000), Just(0x10_0000), Just(1u64 << 47)]
        )
            .prop_map(|(s, d, base, k, off)| Op::Map { s, d, vaddr: base + k * 0x20_0000 + off }),
        2 => (idx(), idx(), prop_oneof![Just(0u64), FIRST_FREE_SLOT..FIRST_FREE_SLOT + 8, FIRST_FREE_SLOT..300]).prop_map(|(s, d, slot)| Op::Caps { s, d, slot }),
        2 => (idx(), idx()).prop_map(|(s, d)| Op::Free { s, d }),
        2 => (idx(), 0u8..14, prop_oneof![Just(3u64), FIRST_FREE_SLOT..FIRST_FREE_SLOT + 8, FIRST_FREE_SLOT..300]).prop_map(|(s, bits, slot)| Op::Cnode { s, bits, slot }),
        1 => (idx(), idx()).prop_map(|(s, c)| Op::CnodeDestroy { s, c }),
        2 => (idx(), prop_oneof![Just(PRIO), 0u8..=255]).prop_map(|(s, prio)| Op::Thread { s, prio }),
        1 => (idx(), idx()).prop_map(|(s, t)| Op::Setup { s, t }),
        1 => (idx(), idx()).prop_map(|(s, t)| Op::Start { s, t }),
        1 => (idx(), idx()).prop_map(|(s, t)| Op::Stop { s, t }),
        1 => (idx(), idx()).prop_map(|(s, t)| Op::ThreadDestroy { s, t }),
        1 => (0u64..20, proptest::collection::vec(any::<u64>(), 0..6)).prop_map(|(label, words)| Op::Raw { label, words }),
    ]
}

/// Handles the child has seen, per kind of thing.
#[derive(Default)]
struct Seen {
    sessions: Vec<(Handle, SessionKind)>,
    dataspaces: Vec<Handle>,
    cnodes: Vec<Handle>,
    threads: Vec<Handle>,
}

impl Seen {
    /// A session seen, mostly one of `kind` (of any kind when `i` is odd).
    fn session(&self, i: u16, kind: Option<SessionKind>) -> Handle {
        let of_kind: Vec<Handle> = self
            .sessions
            .iter()
            .filter(|(_, k)| i % 2 == 1 || kind.is_none_or(|want| *k == want))
            .map(|s| s.0)
            .collect();
        pick(&of_kind, i / 2)
    }
}

/// One of `v`, or a forged handle when `i` says so or there is none.
fn pick(v: &[Handle], i: u16) -> Handle {
    if v.is_empty() || i >= 0xf000 {
        Handle(i as u32 * 0x1_0001)
    } else {
        v[i as usize % v.len()]
    }
}

fn request(op: &Op, seen: &Seen) -> Result<Request, ErrorCode> {
    let (ram, cnode, tcb, any) = (Some(SessionKind::Ram), Some(SessionKind::Cnode), Some(SessionKind::Tcb), None);
    let (d, c, t) = (|i| pick(&seen.dataspaces, i), |i| pick(&seen.cnodes, i), |i| pick(&seen.threads, i));
    let r = match *op {
        Op::Open { kind, ram, caps } => Request::Open { kind: SessionKind::ALL[kind], ram_quota: ram, cap_quota: caps },
        Op::Close(i) => Request::Close { session: seen.session(i, any) },
        Op::Usage(i) => Request::Usage { session: seen.session(i, any) },
        Op::Alloc { s: i, pages, align, cache, range } => Request::RamAlloc {
            session: seen.session(i, ram),
            size: pages << 12,
            align_log2: align,
            cache: CacheAttr::ALL[cache],
            range: range.map(|(lo, hi)| PhysRange { lo, hi }),
        },
        Op::Map { s: i, d: j, vaddr } => Request::RamMap { session: seen.session(i, ram), dataspace: d(j), vaddr },
        Op::Caps { s: i, d: j, slot } => {
            Request::RamCaps { session: seen.session(i, ram), dataspace: d(j), first_slot: slot }
        }
        Op::Free { s: i, d: j } => Request::RamFree { session: seen.session(i, ram), dataspace: d(j) },
        Op::Cnode { s: i, bits, slot } => {
            Request::CnodeCreate { session: seen.session(i, cnode), log2_slots: bits, slot }
        }
        Op::CnodeDestroy { s: i, c: j } => Request::CnodeDestroy { session: seen.session(i, cnode), cnode: c(j) },
        Op::Thread { s: i, prio } => Request::TcbCreate { session: seen.session(i, tcb), prio },
        Op::Setup { s: i, t: j } => Request::TcbSetup {
            session: seen.session(i, tcb),
            thread: t(j),
            entry: 0x40_1000,
            stack: 0x3ff0_0000,
            arg: 1,
        },
        Op::Start { s: i, t: j } => Request::TcbStart { session: seen.session(i, tcb), thread: t(j) },
        Op::Stop { s: i, t: j } => Request::TcbStop { session: seen.session(i, tcb), thread: t(j) },
        Op::ThreadDestroy { s: i, t: j } => Request::TcbDestroy { session: seen.session(i, tcb), thread: t(j) },
        Op::Raw { label, ref words } => return Request::decode(label, words),
    };
    // What the client library would send: the message, decoded as core decodes it.
    let (label, w, n) = r.encode();
    Request::decode(label, &w[..n])
}

/// Everything a request may change, to compare before and after one that failed.
fn state(pd: &ModelPd<'_>, sessions: &Sessions) -> String {
    let reports: Vec<String> = sessions.reports().map(|r| format!("{:?} {r}", r.session)).collect();
    let slots: Vec<u64> = (FIRST_FREE_SLOT..1 << CNODE_BITS).filter(|&s| pd.child_slot_used(s)).collect();
    let frames: Vec<_> = pd.mapped_frames().collect();
    format!(
        "{} {} {reports:?} {slots:?} {frames:?} {} {:?}",
        pd.ours.ram().avail(),
        pd.ours.ram().largest_free(),
        pd.mapped_tables(),
        pd.threads
    )
}

fn client(sessions: &Sessions) -> Client {
    let (ram, caps) = sessions.lent();
    Client { cnode_bits: CNODE_BITS, prio: PRIO, ram_left: BUDGET_RAM - ram, caps_left: BUDGET_CAPS - caps }
}

/// Every session's charge is its record plus its objects' cost; its cap use one slot per
/// object plus the caps the child holds; the allocator is short of exactly the objects' bytes.
fn check_accounting(pd: &ModelPd<'_>, sessions: &Sessions, free0: u64) -> Result<(), TestCaseError> {
    let (mut object_bytes, mut objects, mut caps_used) = (0, 0, 0);
    for r in sessions.reports() {
        let u = r.usage;
        prop_assert!(u.ram_used <= u.ram_quota && u.caps_used <= u.cap_quota, "{r}");
        let mut charged = SESSION_RECORD + HANDLE_RECORD * r.records as u64;
        for (_, h) in sessions.objects().filter(|(s, _)| *s == r.session) {
            // An object, or a run of frames from one leaf: each frame takes a slot.
            let node = pd.ours.node_of(h).expect("a session's object is live");
            let n = pd.ours.placer.pool.info(node);
            let NodeState::Occupied { obj_slot, count_log2, .. } = n.state else { panic!("{n:?} holds no object") };
            for i in 0..1u32 << count_log2 {
                let at = n.paddr + ((i as u64) << (n.bits - count_log2));
                let (_, paddr, _) = pd.kernel.object_at(Slot(obj_slot.0 + i)).expect("the kernel holds it");
                prop_assert_eq!(paddr, at);
            }
            charged += (1u64 << n.bits) + OBJECT_RECORD;
            object_bytes += 1u64 << n.bits;
            objects += 1u64 << count_log2;
        }
        prop_assert_eq!(u.ram_used, charged, "{}", r);
        caps_used += u.caps_used as u64;
    }
    let child_caps = (FIRST_FREE_SLOT..1 << CNODE_BITS).filter(|&s| pd.child_slot_used(s)).count() as u64;
    prop_assert_eq!(caps_used, objects + child_caps);
    // The child's IPC region: its paging structures charged to the child by the same rule.
    let (ipc_charged, ipc_caps, ipc_n, ipc_bytes) = sessions.ipc_usage();
    prop_assert_eq!(ipc_charged, ipc_bytes + ipc_n as u64 * OBJECT_RECORD);
    prop_assert_eq!(ipc_caps as usize, ipc_n);
    prop_assert_eq!(free0 - pd.ours.ram().avail(), object_bytes + ipc_bytes);
    prop_assert_eq!(object_bytes + ipc_bytes, sessions.object_bytes());
    let (lent_ram, lent_caps) = sessions.lent();
    prop_assert!(lent_ram <= BUDGET_RAM && lent_caps <= BUDGET_CAPS);
    // Every mapped dataspace is still mapped whole: no session's close or free took another's
    // paging structures away.
    for (vaddr, size) in sessions.mappings() {
        let mapped: u64 = pd
            .mapped_frames()
            .filter(|&(_, va)| (vaddr..vaddr + size).contains(&va))
            .map(|(ty, _)| ty.object_bits(0).map(|b| 1u64 << b).unwrap_or(0))
            .sum();
        prop_assert_eq!(mapped, size, "dataspace mapped at {:#x}", vaddr);
    }
    Ok(())
}

/// A fresh child over a fresh kernel model of [`layout`].
fn with_child<T>(f: impl FnOnce(&mut ModelPd<'_>) -> Result<T, TestCaseError>) -> Result<T, TestCaseError> {
    let boot = layout();
    let opts = Options { object_slots: 1 << 12, range_blocks: 1 << 12, spare_slots: 1 << CNODE_BITS };
    let mut rig = Rig::new(&boot, opts).map_err(TestCaseError::fail)?;
    let cnode = rig.spare_slots();
    let (kernel, ours) = rig.ours().map_err(TestCaseError::fail)?;
    f(&mut ModelPd::new(kernel, ours, cnode, CNODE_BITS, OWN_TABLE))
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    with_child(|pd| run_in(pd, ops))
}

fn run_in(pd: &mut ModelPd<'_>, ops: &[Op]) -> Result<(), TestCaseError> {
    let (free0, largest0) = (pd.ours.ram().avail(), pd.ours.ram().largest_free());
    let mut sessions = Sessions::default();
    let mut seen = Seen::default();
    for op in ops {
        let before = state(pd, &sessions);
        let usage_before = match *op {
            Op::Usage(i) => sessions.report(seen.session(i, None)).map(|r| r.usage),
            _ => None,
        };
        let served = request(op, &seen).and_then(|r| sessions.serve(pd, &client(&sessions), r).map(|w| (r, w)));
        match served {
            Err(_) => prop_assert_eq!(&state(pd, &sessions), &before, "{:?} failed but changed something", op),
            Ok((r, w)) => {
                let w = w.as_slice();
                match r {
                    Request::Open { kind, .. } => seen.sessions.push((OpenReply::from_words(w).unwrap().session, kind)),
                    Request::RamAlloc { size, range, align_log2, .. } => {
                        let a = RamAllocReply::from_words(w).unwrap();
                        prop_assert!(range.is_none_or(|r| r.contains(a.paddr, size)));
                        prop_assert_eq!(a.paddr % (1 << align_log2.max(12)), 0);
                        seen.dataspaces.push(a.dataspace);
                    }
                    Request::CnodeCreate { .. } => seen.cnodes.push(CnodeCreateReply::from_words(w).unwrap().cnode),
                    Request::TcbCreate { .. } => seen.threads.push(TcbCreateReply::from_words(w).unwrap().thread),
                    Request::Usage { .. } => prop_assert_eq!(UsageReply::from_words(w), usage_before),
                    _ => {}
                }
            }
        }
        check_accounting(pd, &sessions, free0)?;
    }
    // Close every session the child still has: nothing is left anywhere.
    for (h, _) in seen.sessions.clone() {
        let _ = sessions.serve(pd, &client(&sessions), Request::Close { session: h });
    }
    // What stays is the child's own: its IPC region's paging structures, until it goes.
    let (ipc_charged, ipc_caps, _, _) = sessions.ipc_usage();
    prop_assert_eq!(sessions.lent(), (ipc_charged, ipc_caps as u64));
    sessions.close_all(pd, |_| {});
    prop_assert_eq!(sessions.lent(), (0, 0));
    prop_assert_eq!(sessions.reports().count(), 0);
    prop_assert_eq!((pd.ours.ram().avail(), pd.ours.ram().largest_free()), (free0, largest0));
    prop_assert!((FIRST_FREE_SLOT..1 << CNODE_BITS).all(|s| !pd.child_slot_used(s)));
    prop_assert_eq!(pd.mapped_frames().count() + pd.mapped_tables() + pd.threads.len(), 0);
    Ok(())
}

/// Cases per property: 128, or `PROPTEST_CASES` (`run soak` asks for many more).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn quotas_hold_and_close_returns_everything(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops)?;
    }
}

/// Opens a session of `kind` with `ram` bytes and `caps` slots and serves `steps` in it (each
/// given the session and the handles the steps before made); the first error, or the
/// session's use after all of them.
fn serve_steps(
    kind: SessionKind,
    ram: u64,
    caps: u32,
    steps: &[fn(Handle, &[Handle]) -> Request],
) -> Result<Result<UsageReply, ErrorCode>, TestCaseError> {
    with_child(|pd| {
        let mut sessions = Sessions::default();
        let open = Request::Open { kind, ram_quota: ram, cap_quota: caps };
        let words = match sessions.serve(pd, &client(&sessions), open) {
            Ok(w) => w,
            Err(e) => return Ok(Err(e)),
        };
        let session = OpenReply::from_words(words.as_slice()).unwrap().session;
        let mut made = Vec::new();
        for step in steps {
            match sessions.serve(pd, &client(&sessions), step(session, &made)) {
                // Every step's first word, if a handle, is what it made.
                Ok(w) => made.push(w.as_slice().first().and_then(|&h| Handle::from_word(h)).unwrap_or(Handle(0))),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(sessions.report(session).unwrap().usage))
    })
}

/// For each sequence of requests: with a generous quota it is served and uses U bytes and C
/// slots; a session with exactly U and C serves it too; one byte or one slot less refuses it
/// with the matching error.
#[test]
fn a_quota_that_fits_exactly_serves_and_one_less_refuses() {
    type Steps = &'static [fn(Handle, &[Handle]) -> Request];
    let ram: Steps = &[
        |s, _| Request::RamAlloc { session: s, size: 12 << 10, align_log2: 0, cache: CacheAttr::Cached, range: None },
        |s, m| Request::RamMap { session: s, dataspace: m[0], vaddr: 0x1000_0000 },
        |s, m| Request::RamCaps { session: s, dataspace: m[0], first_slot: 20 },
        |s, _| Request::RamAlloc {
            session: s,
            size: 2 << 20,
            align_log2: 21,
            cache: CacheAttr::WriteCombining,
            range: Some(PhysRange { lo: 0, hi: 64 << 20 }),
        },
        |s, m| Request::RamMap { session: s, dataspace: m[3], vaddr: 0x40_0000_0000 },
    ];
    let cnode: Steps = &[
        |s, _| Request::CnodeCreate { session: s, log2_slots: 4, slot: 20 },
        |s, _| Request::CnodeCreate { session: s, log2_slots: 10, slot: 21 },
    ];
    let tcb: Steps =
        &[|s, _| Request::TcbCreate { session: s, prio: PRIO }, |s, _| Request::TcbCreate { session: s, prio: 1 }];
    for (kind, steps) in [(SessionKind::Ram, ram), (SessionKind::Cnode, cnode), (SessionKind::Tcb, tcb)] {
        let u = serve_steps(kind, 8 << 20, 100, steps).unwrap().unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
        assert!(u.ram_used > SESSION_RECORD && u.caps_used > 0, "{kind:?}: {u:?}");
        let fit = serve_steps(kind, u.ram_used, u.caps_used, steps).unwrap();
        assert_eq!(fit.map(|f| (f.ram_used, f.caps_used)), Ok((u.ram_used, u.caps_used)), "{kind:?} exact fit");
        let short_ram = serve_steps(kind, u.ram_used - 1, u.caps_used, steps).unwrap();
        assert_eq!(short_ram, Err(ErrorCode::OutOfRamQuota), "{kind:?} one byte short");
        let short_caps = serve_steps(kind, u.ram_used, u.caps_used - 1, steps).unwrap();
        assert_eq!(short_caps, Err(ErrorCode::OutOfCapQuota), "{kind:?} one slot short");
    }
}

/// Two RAM sessions of one child: the second may not map where the first placed paging
/// structures (closing the first would take its mapping away); elsewhere it may, and closing
/// the first leaves it mapped.
#[test]
fn a_session_never_maps_under_another_sessions_paging_structures() {
    with_child(|pd| {
        let mut sessions = Sessions::default();
        let mut serve =
            |pd: &mut ModelPd<'_>, r| sessions.serve(pd, &client(&sessions), r).map(|w| w.as_slice().to_vec());
        let open = Request::Open { kind: SessionKind::Ram, ram_quota: 1 << 20, cap_quota: 16 };
        let (a, b) = (Handle(serve(pd, open).unwrap()[0] as u32), Handle(serve(pd, open).unwrap()[0] as u32));
        let alloc =
            |session| Request::RamAlloc { session, size: 4096, align_log2: 0, cache: CacheAttr::Cached, range: None };
        let da = Handle(serve(pd, alloc(a)).unwrap()[0] as u32);
        let db = Handle(serve(pd, alloc(b)).unwrap()[0] as u32);
        assert_eq!(serve(pd, Request::RamMap { session: a, dataspace: da, vaddr: 0x1000_0000 }), Ok(vec![]));
        let under_a = Request::RamMap { session: b, dataspace: db, vaddr: 0x1000_1000 };
        assert_eq!(serve(pd, under_a), Err(ErrorCode::InvalidArgument));
        assert_eq!(serve(pd, Request::RamMap { session: b, dataspace: db, vaddr: 0x1020_0000 }), Ok(vec![]));
        assert_eq!(serve(pd, Request::Close { session: a }), Ok(vec![]));
        assert_eq!(pd.mapped_frames().collect::<Vec<_>>(), vec![(sel4_core::object::ObjectType::Frame4K, 0x1020_0000)]);
        Ok(())
    })
    .unwrap();
}

/// An object handle names its object in its own session only: the first dataspace of another
/// session, or a CNode, has a different handle and is refused.
#[test]
fn handles_of_another_session_or_kind_name_nothing() {
    with_child(|pd| {
        let mut sessions = Sessions::default();
        let mut serve =
            |pd: &mut ModelPd<'_>, r| sessions.serve(pd, &client(&sessions), r).map(|w| w.as_slice().to_vec());
        let open = |kind| Request::Open { kind, ram_quota: 1 << 20, cap_quota: 16 };
        let a = Handle(serve(pd, open(SessionKind::Ram)).unwrap()[0] as u32);
        let b = Handle(serve(pd, open(SessionKind::Ram)).unwrap()[0] as u32);
        let c = Handle(serve(pd, open(SessionKind::Cnode)).unwrap()[0] as u32);
        let alloc =
            |session| Request::RamAlloc { session, size: 4096, align_log2: 0, cache: CacheAttr::Cached, range: None };
        let da = Handle(serve(pd, alloc(a)).unwrap()[0] as u32);
        let db = Handle(serve(pd, alloc(b)).unwrap()[0] as u32);
        assert_ne!(da, db, "each session's first dataspace has a handle of its own");
        let n = Handle(serve(pd, Request::CnodeCreate { session: c, log2_slots: 4, slot: 20 }).unwrap()[0] as u32);
        assert_eq!(serve(pd, Request::RamFree { session: b, dataspace: da }), Err(ErrorCode::InvalidHandle));
        assert_eq!(serve(pd, Request::RamFree { session: a, dataspace: n }), Err(ErrorCode::InvalidHandle));
        assert_eq!(serve(pd, Request::CnodeDestroy { session: c, cnode: da }), Err(ErrorCode::InvalidHandle));
        assert_eq!(serve(pd, Request::Close { session: da }), Err(ErrorCode::InvalidHandle));
        assert_eq!(serve(pd, Request::Close { session: Handle(0) }), Err(ErrorCode::InvalidHandle));
        assert_eq!(serve(pd, Request::RamFree { session: a, dataspace: da }), Ok(vec![]));
        assert_eq!(serve(pd, Request::RamFree { session: b, dataspace: db }), Ok(vec![]));
        Ok(())
    })
    .unwrap();
}

/// A dataspace larger than any boot untyped spans several (60 MiB over the 1 to 32 MiB
/// untypeds of [`layout`]): it is placed, mapped whole, its frame caps handed over in address
/// order, and freed back to the last byte, charged by the rule.
#[test]
fn a_dataspace_spans_boot_untypeds_and_is_charged_by_its_runs() {
    with_child(|pd| {
        let (free0, largest0) = (pd.ours.ram().avail(), pd.ours.ram().largest_free());
        let mut sessions = Sessions::default();
        let big = Client { ram_left: 1 << 30, caps_left: 1 << 20, ..client(&sessions) };
        let mut serve = |pd: &mut ModelPd<'_>, r| sessions.serve(pd, &big, r).map(|w| w.as_slice().to_vec());
        let open = Request::Open { kind: SessionKind::Ram, ram_quota: 100 << 20, cap_quota: 1 << 16 };
        let s = Handle(serve(pd, open).unwrap()[0] as u32);
        let size = 60u64 << 20;
        let reply =
            serve(pd, Request::RamAlloc { session: s, size, align_log2: 0, cache: CacheAttr::Cached, range: None })
                .expect("60 MiB fit the 63 MiB of RAM");
        let (d, paddr) = (Handle(reply[0] as u32), reply[1]);
        assert!(paddr + size <= 64 << 20);
        assert_eq!(
            serve(pd, Request::RamMap { session: s, dataspace: d, vaddr: 0x80_0000_0000 + (paddr & 0x1f_ffff) }),
            Ok(vec![])
        );
        let frames: u64 = pd.mapped_frames().map(|(ty, _)| ty.object_bits(0).map(|b| 1u64 << b).unwrap()).sum();
        assert_eq!(frames, size, "every byte mapped");
        assert!(pd.ours.ram().avail() <= free0 - size);
        assert_eq!(serve(pd, Request::RamFree { session: s, dataspace: d }), Ok(vec![]));
        assert_eq!(serve(pd, Request::Close { session: s }), Ok(vec![]));
        assert_eq!((pd.ours.ram().avail(), pd.ours.ram().largest_free()), (free0, largest0));
        Ok(())
    })
    .unwrap();
}
