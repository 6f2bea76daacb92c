//! core serving its children over one endpoint: it starts every service it is given, then
//! receives. A request (badge `position << 1`) is decoded
//! (`sel4_core_protocol`) and answered, or its child reclaimed when it exits; a fault (badge
//! `position << 1 | 1`, sent by the kernel) is reported with the child's name, the fault kind, IP
//! and address, and the child reclaimed. Core never calls or sends to a child and waits: it
//! replies or drops. When every child is gone core compares the RAM allocator's free bytes and
//! largest free block with the values before the first child was loaded.

use core::fmt::Write;

use sel4::{cap_type, syscalls, Cap, FaultType, MessageInfo, Word};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::request::LOG_BYTES;
use sel4_core_protocol::{ErrorCode, Label, Request};
use sel4_root_task::println;

use alloc::vec::Vec;

use crate::loader::{self, Spec};
use crate::memory_map::{self, Owner};
use crate::object::ObjectType;
use crate::root::child::{self, Child};
use crate::root::child_pd::ChildPd;
use crate::root::error::Error;
use crate::root::heap;
use crate::root::state::{Core, InUse};
use crate::session::{Client, Sessions};
use crate::size::Size;
use crate::untyped_pool::NodeId;

/// Bytes of a child's log line core holds until its newline.
const LINE: usize = 160;
/// Bytes of core's record of a child charged to it: its entry in the table of children and in
/// the table of their sessions (each session's records are charged to that session while it
/// is open, each object's handle to the object).
const CHILD_RECORD: u64 = (size_of::<Option<Slot>>() + size_of::<Sessions>() + size_of::<End>()) as u64;

struct Slot {
    child: Child,
    line: heapless::Vec<u8, LINE>,
    work: Work,
}

/// Session requests core served for a child, per label: how many, the TSC cycles core spent on
/// them from the decoded request to the answer (its own work, without the IPC), the kernel
/// invocations it made for them with their cycles (`sel4::invocation_time`), and the cycles in
/// its physical allocator without those (`child_pd::allocator_cycles`).
#[derive(Default)]
struct Work {
    count: [u64; Label::ALL.len()],
    cycles: [u64; Label::ALL.len()],
    invocations: [u64; Label::ALL.len()],
    kernel: [u64; Label::ALL.len()],
    allocator: [u64; Label::ALL.len()],
}

impl Work {
    fn add(&mut self, label: Label, cycles: u64, kernel: sel4::InvocationTime, allocator: u64) {
        if let Some(i) = Label::ALL.iter().position(|l| *l == label) {
            self.count[i] += 1;
            self.cycles[i] += cycles;
            self.invocations[i] += kernel.count;
            self.kernel[i] += kernel.cycles;
            self.allocator[i] += allocator;
        }
    }

    /// `child <name>: core's work per request: <Label> <n> x <cycles> cycles (kernel <cycles> in
    /// <invocations> invocations; allocator <cycles>), ...`, all per request.
    fn print(&self, name: &str) {
        if self.count.iter().all(|&n| n == 0) {
            return;
        }
        let mut line: heapless::String<1024> = heapless::String::new();
        for (i, label) in Label::ALL.iter().enumerate().filter(|(i, _)| self.count[*i] > 0) {
            let n = self.count[i];
            let hundredths = self.invocations[i] * 100 / n;
            let _ = write!(
                line,
                " {label:?} {n} x {} cycles (kernel {} in {}.{:02} invocations; allocator {}),",
                self.cycles[i] / n,
                self.kernel[i] / n,
                hundredths / 100,
                hundredths % 100,
                self.allocator[i] / n
            );
        }
        println!("child {name}: core's work per request:{}", line.trim_end_matches(','));
    }
}

/// How a child ended.
#[derive(Copy, Clone, Debug)]
enum End {
    NotStarted,
    Exited { code: u64, leaked: u64 },
    Faulted { fault: Fault, leaked: u64 },
}

/// A fault the kernel sent for a child: its kind (a fault label, `FaultType` when known), the
/// IP, and up to two more words (the address for memory and cap faults, the syscall number,
/// the exception number and code).
#[derive(Copy, Clone, Debug)]
struct Fault {
    label: Word,
    ip: Word,
    a: Word,
    b: Word,
}

impl Fault {
    /// The fault message's words as `src/api/faults.c:setMRs_fault` writes them.
    fn read(label: Word, mrs: &[Word; 4]) -> Fault {
        let at = |i: u64| {
            let i = i as usize;
            if i < mrs.len() {
                mrs[i]
            } else {
                sel4::message_word(i).unwrap_or(0)
            }
        };
        use sel4::sys::*;
        let (ip, a, b) = match FaultType::from_label(label) {
            Some(FaultType::VMFault) => (at(seL4_VMFault_IP), at(seL4_VMFault_Addr), at(seL4_VMFault_PrefetchFault)),
            Some(FaultType::CapFault) => (at(seL4_CapFault_IP), at(seL4_CapFault_Addr), 0),
            Some(FaultType::UnknownSyscall) => (at(seL4_UnknownSyscall_FaultIP), at(seL4_UnknownSyscall_Syscall), 0),
            Some(FaultType::UserException) => {
                (at(seL4_UserException_FaultIP), at(seL4_UserException_Number), at(seL4_UserException_Code))
            }
            _ => (0, 0, 0),
        };
        Fault { label, ip, a, b }
    }
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Fault { label, ip, a, b } = *self;
        match FaultType::from_label(label) {
            Some(FaultType::VMFault) => write!(
                f,
                "VM fault at ip {ip:#x}, address {a:#x} ({})",
                if b != 0 { "instruction fetch" } else { "data access" }
            ),
            Some(FaultType::CapFault) => write!(f, "cap fault at ip {ip:#x}, address {a:#x}"),
            Some(FaultType::UnknownSyscall) => write!(f, "unknown syscall {} at ip {ip:#x}", a as i64),
            Some(FaultType::UserException) => write!(f, "user exception {a} (code {b:#x}) at ip {ip:#x}"),
            _ => write!(f, "fault with label {label} at ip {ip:#x}"),
        }
    }
}

/// What the children left behind.
#[derive(Copy, Clone, Debug, Default)]
pub struct Outcome {
    pub started: usize,
    pub exited: usize,
    pub faulted: usize,
    /// RAM bytes not back in the allocator after every child was reclaimed.
    pub leaked: u64,
    /// RAM bytes that came back from reclaimed children beyond what they were charged.
    pub surplus: u64,
}

/// Starts every service in `specs` and serves them until all are gone.
/// Core's own objects for serving (its endpoint, the table of children) are freed when every
/// child is gone, so `serve` may run again; the window's paging structures stay.
pub fn serve(core: &mut Core, specs: &[Spec<'static>]) -> Result<Outcome, Error> {
    // Core's own objects for serving: the window it fills child frames through, its endpoint.
    child::prepare_window(core)?;
    let ep = core.ours.alloc(&mut core.kernel, ObjectType::Endpoint, 0).map_err(|failure| Error::Alloc {
        ty: ObjectType::Endpoint,
        size_bits: 0,
        failure,
    })?;
    // The tables of children and of their sessions live on core's heap, with room for the
    // records of the first requests.
    heap::reserve(core, heap::HEADROOM + specs.len() * CHILD_RECORD as usize)?;
    let mut slots: Vec<Option<Slot>> = Vec::with_capacity(specs.len());
    let mut records: Vec<Sessions> = Vec::with_capacity(specs.len());
    let mut ends: Vec<End> = Vec::with_capacity(specs.len());
    // Splits cached from earlier work merge back, so that the bookkeeping before and after the
    // children is what core's own live objects need, and comparable.
    core.ours.compact(&mut core.kernel)?;
    let heap0 = heap::size().0;
    let (mut free0, largest0) = (core.ours.ram().avail(), core.ours.ram().largest_free());
    let use0 = InUse::of(core);
    println!("core in use before the children: {use0}");
    let mut out = Outcome::default();
    for (position, spec) in specs.iter().enumerate() {
        // The loader's lists of what it placed live on the heap too.
        reserve_heap(core, &mut free0)?;
        let t0 = crate::root::runner::rdtsc();
        let started = child::start(core, ep.slot, position, spec, CHILD_RECORD);
        let cycles = crate::root::runner::rdtsc() - t0;
        let entry = match started {
            Ok(c) => {
                let g = c.charge;
                println!(
                    "child {}: started (priority {}) in {} cycles, {} bytes of ELF ({} cycles per KiB); charged {} of its {} budget in {} objects: \
                     image {}, stack {}, IPC buffer {}, paging {}, CNode {}, TCB {}, VSpace {}, core's records {}",
                    c.name,
                    c.prio,
                    cycles,
                    spec.elf.len(),
                    cycles * 1024 / (spec.elf.len() as u64).max(1),
                    g.total(),
                    c.budget,
                    c.objects(),
                    g.image,
                    g.stack,
                    g.ipc_buffer,
                    g.paging,
                    g.cnode,
                    g.tcb,
                    g.vspace,
                    g.records
                );
                out.started += 1;
                Some(Slot { child: c, line: heapless::Vec::new(), work: Work::default() })
            }
            Err(e) => {
                println!("child {}: not started: {e}", spec.name);
                None
            }
        };
        slots.push(entry);
        records.push(Sessions::default());
        ends.push(End::NotStarted);
    }
    let ep_cptr = Cap::<cap_type::Endpoint>::from_bits(ep.slot.0 as Word).cptr();
    // Bytes children held at the last memory map core printed.
    let mut peak = 0;
    // The answer to the last request, sent with the next receive in one `ReplyRecv` (the
    // kernel's fastpath takes both halves when the messages fit its registers).
    let mut answer: Option<(MessageInfo, [Word; 4])> = None;
    let (slots, records) = (&mut slots[..], &mut records[..]);
    while slots.iter().any(Option::is_some) {
        let m = match answer.take() {
            Some((info, mrs)) => syscalls::reply_recv(ep_cptr, info, mrs),
            None => syscalls::recv(ep_cptr),
        };
        let (index, fault) = ((m.badge >> 1) as usize, m.badge & 1 == 1);
        // A badge core did not hand out, or of a child already gone: nothing to answer.
        let Some(Some(slot)) = slots.get_mut(index) else { continue };
        let len = m.info.length();
        let end;
        if fault {
            let f = Fault::read(m.info.label(), &m.mrs);
            println!("child {}: faulted: {f}", slot.child.name);
            out.faulted += 1;
            end = End::Faulted { fault: f, leaked: 0 };
        } else {
            let words = &m.mrs[..len.min(m.mrs.len())];
            match Request::decode(m.info.label(), if len > m.mrs.len() { &[] } else { words }) {
                Ok(Request::Log { len, bytes }) => {
                    log(slot, &bytes[..(len as usize).min(LOG_BYTES)]);
                    answer = Some((MessageInfo::new(0, 0, 0, 0), [0; 4]));
                    continue;
                }
                Ok(Request::Exit { code }) => {
                    flush(slot);
                    println!("child {}: exited with code {code}", slot.child.name);
                    out.exited += 1;
                    end = End::Exited { code, leaked: 0 };
                }
                Ok(request) => {
                    if let Request::Close { session } = request {
                        if let Some(r) = records[index].report(session) {
                            println!("session {:#x} of {} {r}", session.0, slot.child.name);
                            map_at_peak(core, slots, records, &mut peak);
                        }
                    }
                    // Room for the records this request may add, grown before the request holds
                    // core's allocator. What a growth takes stays core's: it moves the baseline.
                    reserve_heap(core, &mut free0)?;
                    let Some(Some(slot)) = slots.get_mut(index) else { continue };
                    let (t0, k0, a0) = (
                        crate::root::runner::rdtsc(),
                        sel4::invocation_time(),
                        crate::root::child_pd::allocator_cycles(),
                    );
                    let words = serve_session(core, slot, &mut records[index], request);
                    let kernel = sel4::invocation_time().since(k0);
                    let allocator = crate::root::child_pd::allocator_cycles() - a0;
                    slot.work.add(request.label(), crate::root::runner::rdtsc() - t0, kernel, allocator);
                    answer = Some(match words {
                        Ok(words) => {
                            let w = words.as_slice();
                            let mut mrs = [0; 4];
                            mrs[..w.len()].copy_from_slice(w);
                            (MessageInfo::new(0, 0, 0, w.len()), mrs)
                        }
                        Err(e) => (MessageInfo::new(e as Word, 0, 0, 0), [0; 4]),
                    });
                    continue;
                }
                Err(e) => {
                    answer = Some((MessageInfo::new(e as Word, 0, 0, 0), [0; 4]));
                    continue;
                }
            }
        }
        // Exit or fault: the child is gone; reclaim everything it holds.
        map_at_peak(core, slots, records, &mut peak);
        if let Some(Some(mut s)) = slots.get_mut(index).map(Option::take) {
            flush(&mut s);
            let sessions = &mut records[index];
            let (name, charged) = (s.child.name, s.child.charge.objects() + sessions.object_bytes());
            let before = core.ours.ram().avail();
            let mut pd = ChildPd { core, vspace: s.child.vspace, cnode: s.child.cnode, cnode_bits: s.child.cnode_bits };
            sessions.close_all(&mut pd, |r| println!("session {:#x} of {name} {r}", r.session.0));
            s.child.reclaim(core);
            let back = core.ours.ram().avail() - before;
            // Exact both ways: more back than was charged is an error of core's, too.
            let lost = charged as i128 - back as i128;
            if lost < 0 {
                out.surplus += lost.unsigned_abs() as u64;
                println!(
                    "child {name}: reclaimed: {back} of {charged} bytes back in the allocator, {} bytes more than charged",
                    -lost
                );
            } else {
                println!(
                    "child {name}: reclaimed: {back} of {charged} bytes back in the allocator, leaked {lost} bytes"
                );
            }
            let lost = lost.max(0) as u64;
            s.work.print(name);
            ends[index] = match end {
                End::Exited { code, .. } => End::Exited { code, leaked: lost },
                End::Faulted { fault, .. } => End::Faulted { fault, leaked: lost },
                e => e,
            };
        }
    }
    core.ours.compact(&mut core.kernel)?;
    // Every child is gone, so no answer is owed; send one anyway rather than drop it.
    if let Some((info, mrs)) = answer {
        syscalls::reply(info, mrs);
    }
    let (free1, largest1) = (core.ours.ram().avail(), core.ours.ram().largest_free());
    let use1 = InUse::of(core);
    let grown = heap::size().0 - heap0;
    if grown > 0 {
        // The heap keeps what it grew by for core's next records. Free bytes are compared
        // against a baseline moved by exactly what each growth took; the largest free block and
        // the pool and cap-space counts depend on where the growth's splits fell among the
        // children's, so they are compared only when the heap did not grow.
        println!(
            "core's heap grew by {grown} bytes while the children ran (kept for reuse); free bytes compared, \
             largest free block and bookkeeping counts not"
        );
    }
    println!("core in use after the children: {use1}");
    // No child holds a cap to the endpoint any more: core's own goes too.
    core.ours.free(&mut core.kernel, ep.handle)?;
    out.leaked = free0.saturating_sub(free1);
    println!(
        "children: {} started, {} exited, {} faulted; RAM free {} before, {} after, largest free block {} before, {} after: leaked {} bytes",
        out.started,
        out.exited,
        out.faulted,
        free0,
        free1,
        Size(largest0 as u128),
        Size(largest1 as u128),
        out.leaked
    );
    // In start order, whatever order the children ended in.
    for (i, (spec, end)) in specs.iter().zip(ends.iter()).enumerate() {
        match end {
            End::NotStarted => println!("summary: child {i} {}: not started", spec.name),
            End::Exited { code, leaked } => {
                println!("summary: child {i} {}: exited with code {code}, leaked {leaked} bytes", spec.name)
            }
            End::Faulted { fault, leaked } => {
                println!("summary: child {i} {}: faulted: {fault}, leaked {leaked} bytes", spec.name)
            }
        }
    }
    if out.surplus > 0 {
        return Err(Error::Failed("children: more came back than was charged to them"));
    }
    if free1 != free0 || (grown == 0 && largest1 != largest0) {
        return Err(Error::Failed("children: memory not back where it was before they were loaded"));
    }
    if grown == 0 && use1 != use0 {
        return Err(Error::Failed("children: core's bookkeeping not back where it was before they were loaded"));
    }
    Ok(out)
}

/// Grows core's heap to its headroom (`heap::reserve`). What a growth takes of the RAM
/// allocator (frames and paging structures) is core's own for good, so the free bytes the
/// children are compared against move by exactly that.
fn reserve_heap(core: &mut Core, free: &mut u64) -> Result<(), Error> {
    let avail0 = core.ours.ram().avail();
    heap::reserve(core, heap::HEADROOM)?;
    *free -= avail0 - core.ours.ram().avail();
    Ok(())
}

/// Serves a session request of the child in `slot`, whose sessions are `sessions`.
fn serve_session(core: &mut Core, slot: &Slot, sessions: &mut Sessions, request: Request) -> Result<Words, ErrorCode> {
    let (lent_ram, lent_caps) = sessions.lent();
    let c = &slot.child;
    let client = Client {
        cnode_bits: c.cnode_bits,
        prio: c.prio,
        ram_left: c.budget.saturating_sub(c.charge.total() + lent_ram),
        caps_left: c.caps.saturating_sub(lent_caps),
        ipc_base: c.layout.ipc_base,
        ipc_pages: loader::IPC_PAGES,
    };
    let mut pd = ChildPd { core, vspace: c.vspace, cnode: c.cnode, cnode_bits: c.cnode_bits };
    sessions.serve(&mut pd, &client, request)
}

/// With feature `memory-map`: prints core's memory map with each object's owner (core, a
/// child, or a child's session) when the children hold more than at the last map printed
/// (`peak`), just before core frees a session's or a child's objects: the last map printed
/// shows the children at their peak.
fn map_at_peak(core: &Core, slots: &[Option<Slot>], records: &[Sessions], peak: &mut u64) {
    if !cfg!(feature = "memory-map") {
        return;
    }
    let live = || slots.iter().zip(records).filter_map(|(s, r)| Some((s.as_ref()?, r)));
    let held: u64 = live().map(|(s, r)| s.child.charge.objects() + r.object_bytes()).sum();
    if held <= *peak {
        return;
    }
    *peak = held;
    let ours = &core.ours;
    let owner = |node: NodeId| {
        for (s, sessions) in live() {
            let name = s.child.name;
            if s.child.handles().iter().any(|&h| ours.node_of(h) == Some(node)) {
                return Owner::Child { name, session: None };
            }
            if let Some((session, _)) = sessions.objects().find(|&(_, h)| ours.node_of(h) == Some(node)) {
                return Owner::Child { name, session: Some(session.0) };
            }
        }
        Owner::Core
    };
    println!("memory map: children hold {held} bytes");
    let records = memory_map::records_owned(&ours.placer.pool, &owner);
    let _ = memory_map::write_records(records, &mut sel4_root_task::printing::Writer);
}

/// Appends `bytes` to the child's line and prints each complete line with its name.
fn log(slot: &mut Slot, bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' || slot.line.is_full() {
            flush(slot);
            if b == b'\n' {
                continue;
            }
        }
        let _ = slot.line.push(b);
    }
}

fn flush(slot: &mut Slot) {
    if !slot.line.is_empty() {
        let text = core::str::from_utf8(&slot.line).unwrap_or("(not UTF-8)");
        println!("[{}] {text}", slot.child.name);
        slot.line.clear();
    }
}
