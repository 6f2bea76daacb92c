//! requester: executes the request script embedded in its image (env `REQUESTS` at build time,
//! `requester::lines` its format), one request to core per line, and prints what core answered:
//! `req <line> <verb>: ok ...` or `req <line> <verb>: error <Name>`, `req <line>: MISMATCH
//! expected <X> got <Y>` where a line's expectation does not hold, and at the end
//! `requests: <n> done, <m> mismatches`. A last `fault` line faults on purpose, a last `exit`
//! exits with its code; otherwise it exits with 0.
//!
//! Started with a budget of 16 MiB of RAM, 1,024 caps (a CNode of 1,024 slots) and priority
//! 100. Handles are sent as the script names them: a name is the handle an earlier line got, a
//! number is sent as it is (forged). Freed, closed and destroyed names keep their handles, so
//! using them again sends a stale handle.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;

use requester::{lines, AllocOptions, Expect, FaultKind, Line, Ref, Step, Word};
use sel4_core_protocol::abi::FIRST_FREE_SLOT;
use sel4_core_protocol::answer::{CnodeCreateReply, Done, OpenReply, RamAllocReply, TcbCreateReply};
use sel4_core_protocol::client::{call, raw};
use sel4_core_protocol::layout;
use sel4_core_protocol::{ErrorCode, Handle, PhysRange, Request, SessionError, SessionKind};
use sel4_runtime::{declare_main, memory, println, Core};

declare_main!(main);

/// The script, embedded at build time.
static SCRIPT: &str = include_str!(concat!(env!("OUT_DIR"), "/requests.txt"));

/// The requester's priority and CNode size in the scenarios that start it.
const PRIO: u8 = 100;
const CNODE_SLOTS: u64 = 1024;
/// A thread's stack (16-byte words, the alignment a stack needs), from the heap.
const STACK_WORDS: usize = 512;

/// What a name stands for.
#[derive(Copy, Clone)]
enum Object {
    Session {
        handle: Handle,
        kind: SessionKind,
    },
    Dataspace {
        session: Handle,
        handle: Handle,
        paddr: u64,
        size: u64,
        frame_bits: u8,
        vaddr: Option<u64>,
        slots: Option<(u64, u64)>,
    },
    /// `slot`, `stack`: what the object holds of the requester's, until core revokes it.
    Cnode {
        session: Handle,
        handle: Handle,
        slot: Option<u64>,
    },
    Thread {
        session: Handle,
        handle: Handle,
        stack: Option<usize>,
    },
}

impl Object {
    fn handle(&self) -> Handle {
        match *self {
            Object::Session { handle, .. }
            | Object::Dataspace { handle, .. }
            | Object::Cnode { handle, .. }
            | Object::Thread { handle, .. } => handle,
        }
    }

    /// The session an object belongs to.
    fn session(&self) -> Option<Handle> {
        match *self {
            Object::Session { .. } => None,
            Object::Dataspace { session, .. } | Object::Cnode { session, .. } | Object::Thread { session, .. } => {
                Some(session)
            }
        }
    }
}

/// How a line went, beyond core's answer: a check of the requester's own.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Got {
    Ok,
    Refused(ErrorCode),
    /// Core's reply was no answer to the request.
    Malformed,
    /// A check of the requester's own failed (its name says which).
    Local(&'static str),
}

impl core::fmt::Display for Got {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Got::Ok => f.write_str("ok"),
            Got::Refused(e) => f.write_str(e.name()),
            Got::Malformed => f.write_str("MalformedReply"),
            Got::Local(what) => f.write_str(what),
        }
    }
}

impl From<SessionError> for Got {
    fn from(e: SessionError) -> Got {
        match e.code() {
            Some(c) => Got::Refused(c),
            None => Got::Malformed,
        }
    }
}

fn holds(expect: Expect, got: Got) -> bool {
    match expect {
        Expect::Ok => got == Got::Ok,
        Expect::Error(e) => got == Got::Refused(e),
        Expect::AnyError => got != Got::Ok,
        Expect::Any => true,
        Expect::Fault => false,
    }
}

/// A thread's stack, and whether a live thread has it.
struct Stack {
    words: Box<[u128]>,
    used: bool,
}

/// The requester's state: names (as many as the script binds, on the heap), its CNode's free
/// slots, thread stacks (made as threads need them, reused when they go).
struct Requester {
    names: BTreeMap<&'static str, Object>,
    /// Slots of its CNode in use, one bit each (core's slots below FIRST_FREE_SLOT).
    slots: [u64; (CNODE_SLOTS / 64) as usize],
    stacks: Vec<Stack>,
}

sel4_runtime::thread_entry!(requester_thread_entry => thread_body);

/// A thread the script made: says so, then yields for good (it holds nothing to block on).
extern "C" fn thread_body(line: u64) -> ! {
    println!("req thread of line {line}: running");
    loop {
        sel4::syscalls::yield_now();
    }
}

impl Requester {
    fn new() -> Self {
        let mut r = Requester { names: BTreeMap::new(), slots: [0; (CNODE_SLOTS / 64) as usize], stacks: Vec::new() };
        r.mark(0, FIRST_FREE_SLOT, true);
        r
    }

    fn get(&self, name: &str) -> Option<Object> {
        self.names.get(name).copied()
    }

    /// Binds `name`, replacing an earlier binding.
    fn bind(&mut self, name: &'static str, o: Object) -> Result<(), Got> {
        self.names.insert(name, o);
        Ok(())
    }

    fn update(&mut self, name: &str, o: Object) {
        if let Some(e) = self.names.get_mut(name) {
            *e = o;
        }
    }

    /// A free stack (made if none is), marked in use: its index.
    fn take_stack(&mut self) -> usize {
        match self.stacks.iter().position(|s| !s.used) {
            Some(i) => {
                self.stacks[i].used = true;
                i
            }
            None => {
                self.stacks.push(Stack { words: vec![0; STACK_WORDS].into_boxed_slice(), used: true });
                self.stacks.len() - 1
            }
        }
    }

    /// The handle a reference sends.
    fn handle(&self, r: Ref<'_>) -> Handle {
        match r {
            Ref::Raw(v) => Handle(v),
            Ref::Name(n) => self.get(n).map(|o| o.handle()).unwrap_or(Handle(0)),
        }
    }

    fn used(&self, slot: u64) -> bool {
        self.slots[(slot / 64) as usize] & 1 << (slot % 64) != 0
    }

    fn mark(&mut self, first: u64, n: u64, used: bool) {
        for s in first..first + n {
            let (w, b) = ((s / 64) as usize, s % 64);
            if used {
                self.slots[w] |= 1 << b;
            } else {
                self.slots[w] &= !(1 << b);
            }
        }
    }

    /// `n` consecutive free slots of its CNode.
    fn free_slots(&self, n: u64) -> Option<u64> {
        (FIRST_FREE_SLOT..CNODE_SLOTS.saturating_sub(n) + 1).find(|&f| (f..f + n).all(|s| !self.used(s)))
    }

    /// What core revoked when object `o` went: its slots and stack are free again.
    fn gone(&mut self, o: Object) {
        match o {
            Object::Dataspace { slots: Some((first, n)), .. } => self.mark(first, n, false),
            Object::Cnode { slot: Some(slot), .. } => self.mark(slot, 1, false),
            Object::Thread { stack: Some(stack), .. } => self.stacks[stack].used = false,
            _ => {}
        }
    }

    /// Everything of session `s` went with it.
    fn session_gone(&mut self, s: Handle) {
        let of_session: Vec<&'static str> =
            self.names.iter().filter(|(_, o)| o.session() == Some(s)).map(|(n, _)| *n).collect();
        for n in of_session {
            if let Some(&o) = self.names.get(n) {
                self.gone(o);
                // Kept, with its slots forgotten, so the name still sends its stale handle.
                self.names.insert(n, forget(o));
            }
        }
    }

    /// Runs one line: what core answered, and a detail to print after `ok`.
    fn run(&mut self, line: &Line<'static>, detail: &mut heapless::String<128>) -> Got {
        // A name whose line failed names nothing: the line is not sent (a made-up handle would
        // make an expected InvalidHandle hold for the wrong reason).
        let unbound = |r: &Option<Ref<'_>>| matches!(r, Some(Ref::Name(n)) if self.get(n).is_none());
        if line.step.uses().iter().any(unbound) {
            return Got::Local("NameNotMade");
        }
        let t = &mut Core;
        match line.step {
            Step::Open { kind, ram, caps, name } => {
                match call::<OpenReply, _>(t, &Request::Open { kind, ram_quota: ram, cap_quota: caps }) {
                    Ok(r) => {
                        let _ = write!(detail, " handle={:#x}", r.session.0);
                        self.bind(name, Object::Session { handle: r.session, kind }).err().unwrap_or(Got::Ok)
                    }
                    Err(e) => e.into(),
                }
            }
            Step::Close { session } => {
                let s = self.handle(session);
                match call::<Done, _>(t, &Request::Close { session: s }) {
                    Ok(Done) => {
                        self.session_gone(s);
                        Got::Ok
                    }
                    Err(e) => e.into(),
                }
            }
            Step::Alloc { session, size, options, name } => self.alloc(session, size, options, name, detail),
            Step::Free { session, dataspace } => {
                let (s, d) = (self.handle(session), self.handle(dataspace));
                match call::<Done, _>(t, &Request::RamFree { session: s, dataspace: d }) {
                    Ok(Done) => {
                        if let Ref::Name(n) = dataspace {
                            if let Some(o) = self.get(n) {
                                self.gone(o);
                                self.update(n, forget(o));
                            }
                        }
                        Got::Ok
                    }
                    Err(e) => e.into(),
                }
            }
            Step::Touch { dataspace } => match self.get(dataspace) {
                Some(Object::Dataspace { vaddr: Some(v), size, .. }) => {
                    // SAFETY: core mapped the dataspace read-write at `v` for `size` bytes (if
                    // the script freed it since, the touch faults, which is what such a script
                    // expects); nothing else in the requester refers to that memory.
                    match unsafe { memory::touch(v, size, line.number as u64) } {
                        Ok(()) => Got::Ok,
                        Err(m) => {
                            let _ = write!(detail, " {m}");
                            Got::Local("DataMismatch")
                        }
                    }
                }
                _ => Got::Local("NotMapped"),
            },
            Step::Cnode { session, log2_slots, name } => {
                let s = self.handle(session);
                let Some(slot) = self.free_slots(1) else { return Got::Local("NoFreeSlot") };
                match call::<CnodeCreateReply, _>(t, &Request::CnodeCreate { session: s, log2_slots, slot }) {
                    Ok(r) => {
                        self.mark(slot, 1, true);
                        let _ = write!(detail, " slot={slot} handle={:#x}", r.cnode.0);
                        self.bind(name, Object::Cnode { session: s, handle: r.cnode, slot: Some(slot) })
                            .err()
                            .unwrap_or(Got::Ok)
                    }
                    Err(e) => e.into(),
                }
            }
            Step::Thread { session, prio, name } => {
                let s = self.handle(session);
                let prio = prio.unwrap_or(PRIO);
                let thread = match call::<TcbCreateReply, _>(t, &Request::TcbCreate { session: s, prio }) {
                    Ok(r) => r.thread,
                    Err(e) => return e.into(),
                };
                let _ = write!(detail, " handle={:#x}", thread.0);
                // Only the thread given this stack (in use until it is destroyed) uses it.
                let stack = self.take_stack();
                let top = self.stacks[stack].words.as_ptr() as u64 + (STACK_WORDS * 16) as u64;
                let entry = requester_thread_entry as *const () as u64;
                let setup = Request::TcbSetup { session: s, thread, entry, stack: top, arg: line.number as u64 };
                match call::<Done, _>(t, &setup) {
                    Err(e) => {
                        // Not left in core under no name: the line failed as a whole.
                        let _ = call::<Done, _>(t, &Request::TcbDestroy { session: s, thread });
                        self.stacks[stack].used = false;
                        Got::from(e)
                    }
                    Ok(Done) => self
                        .bind(name, Object::Thread { session: s, handle: thread, stack: Some(stack) })
                        .err()
                        .unwrap_or(Got::Ok),
                }
            }
            Step::Start { session, thread } => {
                let r = Request::TcbStart { session: self.handle(session), thread: self.handle(thread) };
                call::<Done, _>(t, &r).err().map_or(Got::Ok, Got::from)
            }
            Step::Stop { session, thread } => {
                let r = Request::TcbStop { session: self.handle(session), thread: self.handle(thread) };
                call::<Done, _>(t, &r).err().map_or(Got::Ok, Got::from)
            }
            Step::Destroy { session, object } => self.destroy(session, object),
            Step::Raw { first, label, words, len } => {
                let mut w = [0u64; 1 + requester::MAX_RAW_WORDS];
                w[0] = match first {
                    Word::Name(n) => self.handle(Ref::Name(n)).0 as u64,
                    Word::Value(v) => v,
                };
                for (slot, v) in w[1..=len].iter_mut().zip(words.values()) {
                    *slot = v;
                }
                match raw(t, label, &w[..=len]) {
                    Ok(reply) => match reply.into_result() {
                        Ok(words) => {
                            let _ = write!(detail, " {} words", words.as_slice().len());
                            Got::Ok
                        }
                        Err(e) => Got::Refused(e),
                    },
                    Err(_) => Got::Malformed,
                }
            }
            // The end of the script is the caller's.
            Step::Fault(_) | Step::Exit(_) => Got::Ok,
        }
    }

    fn alloc(
        &mut self,
        session: Ref<'_>,
        size: u64,
        o: AllocOptions,
        name: &'static str,
        detail: &mut heapless::String<128>,
    ) -> Got {
        let t = &mut Core;
        let s = self.handle(session);
        let range = o.range.map(|(lo, hi)| PhysRange { lo, hi });
        let request = Request::RamAlloc { session: s, size, align_log2: o.align_log2, cache: o.cache, range };
        let r = match call::<RamAllocReply, _>(t, &request) {
            Ok(r) => r,
            Err(e) => return e.into(),
        };
        let _ = write!(detail, " paddr={:#x} handle={:#x}", r.paddr, r.dataspace.0);
        let mut ds = Object::Dataspace {
            session: s,
            handle: r.dataspace,
            paddr: r.paddr,
            size,
            frame_bits: r.frame_bits,
            vaddr: None,
            slots: None,
        };
        if let Err(g) = self.bind(name, ds) {
            return g;
        }
        if let Some(vaddr) = o.map {
            if let Err(e) = call::<Done, _>(t, &Request::RamMap { session: s, dataspace: r.dataspace, vaddr }) {
                return e.into();
            }
            if let Object::Dataspace { vaddr: v, .. } = &mut ds {
                *v = Some(vaddr);
            }
            self.update(name, ds);
        }
        if o.caps {
            let n = layout::frames(r.paddr, size, r.frame_bits).count() as u64;
            let Some(first) = self.free_slots(n) else { return Got::Local("NoFreeSlots") };
            if let Err(e) =
                call::<Done, _>(t, &Request::RamCaps { session: s, dataspace: r.dataspace, first_slot: first })
            {
                return e.into();
            }
            self.mark(first, n, true);
            let _ = write!(detail, " caps={first}..{}", first + n);
            if let Object::Dataspace { slots, .. } = &mut ds {
                *slots = Some((first, n));
            }
            self.update(name, ds);
        }
        Got::Ok
    }

    /// Destroys a CNode or a thread: which, the name says (a number: the session's kind does).
    fn destroy(&mut self, session: Ref<'_>, object: Ref<'_>) -> Got {
        let (s, h) = (self.handle(session), self.handle(object));
        let named = match object {
            Ref::Name(n) => self.get(n).map(|o| (n, o)),
            Ref::Raw(_) => None,
        };
        let thread = match named {
            Some((_, Object::Thread { .. })) => true,
            Some(_) => false,
            None => {
                matches!(session, Ref::Name(n) if matches!(self.get(n), Some(Object::Session { kind: SessionKind::Tcb, .. })))
            }
        };
        let request = if thread {
            Request::TcbDestroy { session: s, thread: h }
        } else {
            Request::CnodeDestroy { session: s, cnode: h }
        };
        match call::<Done, _>(&mut Core, &request) {
            Ok(Done) => {
                if let Some((n, o)) = named {
                    self.gone(o);
                    self.update(n, forget(o));
                }
                Got::Ok
            }
            Err(e) => e.into(),
        }
    }
}

/// An object after core revoked it: its handle stays (stale), what it held is forgotten.
fn forget(o: Object) -> Object {
    match o {
        Object::Dataspace { session, handle, paddr, size, frame_bits, vaddr, .. } => {
            // The mapping's address is kept: touching it afterwards must fault.
            Object::Dataspace { session, handle, paddr, size, frame_bits, vaddr, slots: None }
        }
        Object::Thread { session, handle, .. } => Object::Thread { session, handle, stack: None },
        Object::Cnode { session, handle, .. } => Object::Cnode { session, handle, slot: None },
        o => o,
    }
}

fn main(_: usize) -> Result<(), &'static str> {
    // The heap takes its first dataspace now, before the script's first request: its session
    // and dataspace get handle serials 1 and 2 on every run, so a script that forges handles
    // counts its own from 3 (the names a script binds stay far within that first dataspace).
    drop(core::hint::black_box(Vec::<u8>::with_capacity(1)));
    let mut r = Requester::new();
    let (mut done, mut mismatches) = (0u32, 0u32);
    for line in lines(SCRIPT) {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                println!("requests: {e}");
                return Err("the script does not parse (the run tool checks it before it boots)");
            }
        };
        match line.step {
            Step::Fault(kind) => {
                println!("requests: {done} done, {mismatches} mismatches");
                println!("req {} fault: faulting on purpose", line.number);
                fault_now(kind);
                println!("req {}: MISMATCH expected fault got ok", line.number);
                return Err("the fault did not happen");
            }
            Step::Exit(code) => {
                done += 1;
                println!("req {} exit: exiting with code {code}", line.number);
                println!("requests: {done} done, {mismatches} mismatches");
                sel4_runtime::exit(code);
            }
            _ => {}
        }
        let fault_expected = line.expect == Some(Expect::Fault);
        if fault_expected {
            println!("requests: {done} done, {mismatches} mismatches");
            println!("req {} touch: expecting a fault", line.number);
        }
        let mut detail = heapless::String::<128>::new();
        let got = r.run(&line, &mut detail);
        let verb = line.step.verb();
        match got {
            Got::Ok => println!("req {} {verb}: ok{detail}", line.number),
            g => println!("req {} {verb}: error {g}{detail}", line.number),
        }
        if fault_expected {
            println!("req {}: MISMATCH expected fault got {got}", line.number);
            return Err("the expected fault did not happen");
        }
        done += 1;
        if let Some(e) = line.expect {
            if !holds(e, got) {
                mismatches += 1;
                println!("req {}: MISMATCH expected {e} got {got}", line.number);
            }
        }
    }
    println!("requests: {done} done, {mismatches} mismatches");
    Ok(())
}

fn fault_now(kind: FaultKind) {
    match kind {
        FaultKind::Vm => fault::vm(),
        FaultKind::Cap => fault::cap(),
        FaultKind::Syscall => fault::unknown_syscall(),
        FaultKind::Div0 => fault::divide_by_zero(),
        FaultKind::Ud => fault::undefined_instruction(),
    }
}
