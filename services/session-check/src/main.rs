//! session-check: sends core every kind of session request (RAM, CNode, TCB, usage, open and
//! close) and every error case of the protocol, each checked against the reply it must get,
//! including a quota that fits a request sequence exactly (served) and one byte or one slot
//! short of it (refused). Prints one line per check and a last line
//! `session-check: <n> checks, <m> mismatches`; exits with the number of mismatches.
//!
//! Started with a budget of 8 MiB of RAM, 256 caps (a CNode of 256 slots) and priority 100.
#![no_std]
#![no_main]

use sel4_core_protocol::answer::UsageReply;
use sel4_core_protocol::client::{raw, usage};
use sel4_core_protocol::session::{AllocOptions, Dataspace};
use sel4_core_protocol::{
    CacheAttr, CnodeSession, ErrorCode, Handle, Label, PhysRange, RamSession, SessionError, TcbSession,
};
use sel4_runtime::{declare_main, memory, println, Core};

use ErrorCode::*;

declare_main!(main);

/// The budget and priority the scenario starts this service with.
const BUDGET_RAM: u64 = 8 << 20;
const BUDGET_CAPS: u32 = 256;
const PRIO: u8 = 100;
/// A slot beyond this service's CNode (of `BUDGET_CAPS` slots).
const OUTSIDE: u64 = BUDGET_CAPS as u64 + 44;
/// Where dataspaces are mapped.
const VADDR: u64 = 0x1000_0000;
/// Physical memory no machine core runs on has.
const NOWHERE: PhysRange = PhysRange { lo: 1 << 46, hi: (1 << 46) + (1 << 20) };

/// What a check wants.
#[derive(Copy, Clone)]
enum Want {
    Ok,
    Err(ErrorCode),
}

struct Checks {
    n: u32,
    mismatches: u32,
}

impl Checks {
    /// Checks `got` against `want`; the value if it was a success.
    fn check<T>(&mut self, what: &str, want: Want, got: Result<T, SessionError>) -> Option<T> {
        self.n += 1;
        let (held, got_text): (bool, &dyn core::fmt::Display) = match (&want, &got) {
            (Want::Ok, Ok(_)) => (true, &"ok"),
            (Want::Err(w), Err(e)) => (e.code() == Some(*w), e),
            (_, Ok(_)) => (false, &"ok"),
            (_, Err(e)) => (false, e),
        };
        if held {
            println!("session-check: {} {what}: {got_text}", self.n);
        } else {
            let want_text: &dyn core::fmt::Display = match &want {
                Want::Ok => &"ok",
                Want::Err(e) => e,
            };
            println!("session-check: {} {what}: MISMATCH expected {want_text} got {got_text}", self.n);
            self.mismatches += 1;
        }
        got.ok()
    }

    fn ok<T>(&mut self, what: &str, got: Result<T, SessionError>) -> Option<T> {
        self.check(what, Want::Ok, got)
    }

    fn err<T>(&mut self, what: &str, want: ErrorCode, got: Result<T, SessionError>) {
        self.check(what, Want::Err(want), got);
    }

    /// Sends exactly `label` and `words`; core's answer must be `want`.
    fn raw(&mut self, what: &str, want: ErrorCode, label: u64, words: &[u64]) {
        let got = raw(&mut Core, label, words).map_err(SessionError::from).and_then(|r| Ok(r.into_result()?));
        self.err(what, want, got);
    }
}

fn below_4g() -> AllocOptions {
    AllocOptions { align_log2: 0, cache: CacheAttr::Cached, range: Some(PhysRange { lo: 0, hi: 1 << 32 }) }
}

fn main(_: usize) -> Result<(), u64> {
    let t = &mut Core;
    let mut c = Checks { n: 0, mismatches: 0 };

    // Opening: quotas beyond the budget, and a quota that does not pay the session's record.
    c.err("open RAM beyond the RAM budget", OutOfRamQuota, RamSession::open(t, BUDGET_RAM + 1, 8));
    c.err("open RAM beyond the cap budget", OutOfCapQuota, RamSession::open(t, 1 << 20, BUDGET_CAPS + 1));
    c.err("open with a quota below the session's record", OutOfRamQuota, RamSession::open(t, 64, 8));

    // Messages that are no request.
    c.raw("unknown label 99", InvalidRequest, 99, &[]);
    c.raw("label 0", InvalidRequest, 0, &[1]);
    c.raw("open with two words", InvalidRequest, Label::Open as u64, &[0, 1 << 20]);
    c.raw("close with no word", InvalidRequest, Label::Close as u64, &[]);
    c.raw("close with five words", InvalidRequest, Label::Close as u64, &[1, 0, 0, 0, 0]);
    c.raw("open of kind 7", InvalidArgument, Label::Open as u64, &[7, 1 << 20, 8]);
    c.raw("alloc with reserved bits set", InvalidArgument, Label::RamAlloc as u64, &[1 | 1 << 63, 4096]);

    // A RAM session and what it serves.
    let Some(ram) = c.ok("open RAM 2 MiB, 64 caps", RamSession::open(t, 2 << 20, 64)) else { return Err(1) };
    c.ok("usage of the RAM session", ram.usage(t));
    c.err("alloc 0 bytes", InvalidArgument, ram.alloc(t, 0, AllocOptions::default()));
    c.err("alloc 4097 bytes", InvalidArgument, ram.alloc(t, 4097, AllocOptions::default()));
    let range = |lo, hi| AllocOptions { range: Some(PhysRange { lo, hi }), ..AllocOptions::default() };
    c.err("alloc in an empty range", InvalidArgument, ram.alloc(t, 4096, range(1 << 20, 1 << 20)));
    c.err("alloc in an inverted range", InvalidArgument, ram.alloc(t, 4096, range(2 << 20, 1 << 20)));
    c.err(
        "alloc aligned to 2^48",
        InvalidArgument,
        ram.alloc(t, 4096, AllocOptions { align_log2: 48, ..AllocOptions::default() }),
    );
    c.err(
        "alloc where there is no RAM",
        NoMemory,
        ram.alloc(t, 4096, AllocOptions { range: Some(NOWHERE), ..AllocOptions::default() }),
    );
    c.err("alloc beyond the quota", OutOfRamQuota, ram.alloc(t, 4 << 20, AllocOptions::default()));
    let Some(ds) = c.ok("alloc 12 KiB below 4 GiB", ram.alloc(t, 12 << 10, below_4g())) else { return Err(1) };
    let other = c.ok(
        "alloc 4 KiB write-combining",
        ram.alloc(t, 4096, AllocOptions { cache: CacheAttr::WriteCombining, ..AllocOptions::default() }),
    );
    c.ok("map 12 KiB", ram.map(t, ds, VADDR));
    // SAFETY: core mapped the 12 KiB dataspace read-write at VADDR just now; nothing else here
    // refers to that memory.
    let touched = unsafe { memory::touch(VADDR, 12 << 10, 1) };
    c.ok("touch 12 KiB", touched.map_err(|_| SessionError::Refused(InvalidArgument)));
    c.err("map it again", InvalidArgument, ram.map(t, ds, VADDR + (1 << 21)));
    if let Some(o) = other {
        c.err("map over a mapping", InvalidArgument, ram.map(t, o, VADDR + 4096));
        c.err("map at an unaligned address", InvalidArgument, ram.map(t, o, VADDR + (1 << 21) + 8));
        c.err("map at 2^47", InvalidArgument, ram.map(t, o, 1 << 47));
        c.ok("map 4 KiB write-combining", ram.map(t, o, VADDR + (1 << 21)));
        c.ok("free it", ram.free(t, o));
    }
    c.ok("hand over its 3 frame caps at slot 32", ram.caps(t, ds, 32));
    c.err("hand them over again into the occupied slots", InvalidArgument, ram.caps(t, ds, 33));
    c.err("caps below the first free slot", InvalidArgument, ram.caps(t, ds, 3));
    c.err("caps outside the CNode", InvalidArgument, ram.caps(t, ds, OUTSIDE));
    c.err("caps running past the CNode's end", InvalidArgument, ram.caps(t, ds, BUDGET_CAPS as u64 - 1));
    let forged = Dataspace { handle: Handle(0x7777), ..ds };
    c.err("free a forged dataspace", InvalidHandle, ram.free(t, forged));
    c.ok("free the 12 KiB dataspace", ram.free(t, ds));
    c.err("free it twice", InvalidHandle, ram.free(t, ds));
    c.err("map a freed dataspace", InvalidHandle, ram.map(t, ds, VADDR));
    c.err("caps of a freed dataspace", InvalidHandle, ram.caps(t, ds, 40));

    // Sessions of the wrong kind and forged sessions.
    let Some(cnodes) = c.ok("open CNode 64 KiB, 8 caps", CnodeSession::open(t, 64 << 10, 8)) else { return Err(1) };
    let as_ram = RamSession::from_handle(cnodes.handle());
    c.err("alloc in a CNode session", InvalidHandle, as_ram.alloc(t, 4096, AllocOptions::default()));
    c.err(
        "alloc in a forged session",
        InvalidHandle,
        RamSession::from_handle(Handle(0x5_0003)).alloc(t, 4096, AllocOptions::default()),
    );
    c.ok("open eight more sessions at once (no fixed count)", open_many(t));

    // CNodes.
    let cn = c.ok("create a CNode of 2^4 slots in slot 40", cnodes.create(t, 4, 40));
    c.err("create another in the same slot", InvalidArgument, cnodes.create(t, 4, 40));
    c.err("create one of 2^0 slots", InvalidArgument, cnodes.create(t, 0, 41));
    c.err("create one of 2^60 slots", InvalidArgument, cnodes.create(t, 60, 41));
    c.err("create one outside the CNode", InvalidArgument, cnodes.create(t, 4, OUTSIDE));
    c.err("create one beyond the RAM quota", OutOfRamQuota, cnodes.create(t, 12, 41));
    if let Some(cn) = cn {
        c.ok("destroy the CNode", cnodes.destroy(t, cn));
        c.err("destroy it twice", InvalidHandle, cnodes.destroy(t, cn));
    }

    // Threads.
    let Some(threads) = c.ok("open TCB 64 KiB, 8 caps", TcbSession::open(t, 64 << 10, 8)) else { return Err(1) };
    c.err("a thread above the child's priority", Denied, threads.create(t, PRIO + 1));
    if let Some(th) = c.ok("a thread at the child's priority", threads.create(t, PRIO)) {
        c.err("set it up with an unaligned stack", InvalidArgument, threads.setup(t, th, 0x40_1000, 0x1008, 0));
        c.ok("set it up", threads.setup(t, th, 0x40_1000, 0x1000, 0));
        c.ok("stop it (never started)", threads.stop(t, th));
        c.ok("destroy it", threads.destroy(t, th));
        c.err("start a destroyed thread", InvalidHandle, threads.start(t, th));
        c.err("destroy it twice", InvalidHandle, threads.destroy(t, th));
    }

    // Closing.
    c.ok("close the TCB session", threads.close(t));
    c.ok("close the CNode session", cnodes.close(t));
    c.ok("close the RAM session", ram.close(t));
    c.err("close it twice", InvalidHandle, ram.close(t));
    c.err("alloc in a closed session", InvalidHandle, ram.alloc(t, 4096, AllocOptions::default()));
    c.err("usage of a closed session", InvalidHandle, ram.usage(t));

    exact_fit(&mut c);

    println!("session-check: {} checks, {} mismatches", c.n, c.mismatches);
    match c.mismatches {
        0 => Ok(()),
        m => Err(m as u64),
    }
}

/// Opens sessions until core holds as many for this child as it keeps; the next one is refused.
fn open_many(t: &mut Core) -> Result<(), SessionError> {
    let mut open: [Option<CnodeSession>; 8] = [None; 8];
    let mut r = Ok(());
    for s in open.iter_mut() {
        match CnodeSession::open(t, 16 << 10, 0) {
            Ok(x) => *s = Some(x),
            Err(e) => {
                r = Err(e);
                break;
            }
        }
    }
    for s in open.into_iter().flatten() {
        let _ = s.close(t);
    }
    r
}

/// A RAM session's work (a 4 KiB and a 2 MiB dataspace, mapped, the small one's cap handed
/// over) with `ram` bytes and `caps` slots: what it was charged, or the first refusal.
fn ram_work(t: &mut Core, ram: u64, caps: u32) -> Result<UsageReply, SessionError> {
    let s = RamSession::open(t, ram, caps)?;
    let work = |t: &mut Core| -> Result<UsageReply, SessionError> {
        let small = s.alloc(t, 4096, AllocOptions::default())?;
        s.map(t, small, 0x3000_0000)?;
        s.caps(t, small, 50)?;
        let big = s.alloc(t, 2 << 20, AllocOptions { align_log2: 21, ..AllocOptions::default() })?;
        s.map(t, big, 0x40_0000_0000)?;
        usage(t, s.handle())
    };
    let r = work(t);
    s.close(t)?;
    r
}

/// The same work with exactly the quota it used is served; one byte or one slot less is not.
fn exact_fit(c: &mut Checks) {
    let t = &mut Core;
    let Some(u) = c.ok("RAM work with a generous quota", ram_work(t, 4 << 20, 64)) else { return };
    println!("session-check: the work used {} bytes and {} cap slots", u.ram_used, u.caps_used);
    c.ok("the same work with exactly that quota", ram_work(t, u.ram_used, u.caps_used));
    c.err("the same work with one byte less", OutOfRamQuota, ram_work(t, u.ram_used - 1, u.caps_used));
    c.err("the same work with one cap slot less", OutOfCapQuota, ram_work(t, u.ram_used, u.caps_used - 1));
}
