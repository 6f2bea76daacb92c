//! The table of children core serves: each child's entry (its protection domain, its log line,
//! what serving it cost), its sessions, and how it ended. As the [`Handler`] of core's receive
//! loop it decodes each message (badge `index << 1` a request, `index << 1 | 1` a fault the
//! kernel sent), answers requests through the child's sessions, and reclaims a child that
//! exits or faults, checking that every byte charged to it came back, exactly. A child whose
//! description says `restart` is started again after a fault, up to its limit, with what it
//! keeps across restarts ([`channels::Kept`]) and its channels rebuilt.

use alloc::vec::Vec;

use sel4::{syscalls, MessageInfo, Word};
use sel4_core_protocol::reply::Words;
use sel4_core_protocol::request::LOG_BYTES;
use sel4_core_protocol::{ErrorCode, Request};
use sel4_root_task::println;

use super::fault::Fault;
use super::receive::{Answer, Handler};
use super::Outcome;
use crate::kernel::Slot;
use crate::loader::Given;
use crate::loader::Spec;
use crate::log_line::Escaped;
use crate::memory_map::{self, Owner};
use crate::root::channels::{self, Kept, SharedMaps};
use crate::root::child::{self, Child};
use crate::root::child_pd::ChildPd;
use crate::root::error::Error;
use crate::root::heap;
use crate::root::state::Core;
use crate::root::telemetry::{Stamp, Work};
use crate::root::watchdog::{self, Clock};
use crate::session::{Client, Sessions};
use crate::untyped_pool::NodeId;
use sel4_core_protocol::answer::{Answer as _, Done};
use sel4_core_system::{Channel, Devices};

/// Bytes of a child's log line core holds until its newline.
const LINE: usize = 160;
/// Bytes of core's record of a child charged to it: its entry in the table of children and in
/// the table of their sessions (each session's records are charged to that session while it
/// is open, each object's handle to the object).
pub const CHILD_RECORD: u64 = (size_of::<Option<Entry>>() + size_of::<Sessions>() + size_of::<End>()) as u64;

/// A live child.
pub struct Entry {
    child: Child,
    line: heapless::Vec<u8, LINE>,
    work: Work,
    /// Core's copies of its channels' shared frames, mapped in it for this start.
    shared: SharedMaps,
}

/// How a child ended.
#[derive(Copy, Clone, Debug)]
pub enum End {
    NotStarted,
    Running,
    Exited { code: u64, leaked: u64 },
    Faulted { fault: Fault, leaked: u64 },
}

/// Every child of one `serve`, by its index in the system description.
pub struct Table {
    specs: Vec<Spec<'static>>,
    channels: Vec<Channel>,
    /// Each child's device grants.
    devices: Vec<Devices>,
    /// The next CPU vector for an interrupt (counted from the kernel's first user vector).
    next_vector: u64,
    /// Core's notification, bound to its thread, when a child has interrupts: they come on it.
    notification: Option<Slot>,
    /// The watchdog's clock, while a child has interrupts.
    clock: Option<Clock>,
    /// What each child keeps across restarts (none for a child without channels or restarts,
    /// or gone for good).
    kept: Vec<Option<Kept>>,
    /// How often each child was restarted.
    restarted: Vec<u32>,
    /// Core's endpoint (in core's CSpace): the children's requests and faults come on it.
    endpoint: Slot,
    entries: Vec<Option<Entry>>,
    sessions: Vec<Sessions>,
    pub ends: Vec<End>,
    pub out: Outcome,
    /// The RAM allocator's free bytes the children are measured against, moved by what core's
    /// heap takes while they run (`reserve_heap`).
    pub free0: u64,
    /// Bytes children held at the last memory map core printed.
    peak: u64,
    /// How often core's metadata grew while the children ran.
    pub metadata_grown: u32,
}

impl Table {
    /// An empty table for the children `specs` describe, with `channels` between them,
    /// measured against `free0` free bytes.
    pub fn new(
        specs: &[Spec<'static>],
        channels: &[Channel],
        devices: &[Devices],
        endpoint: Slot,
        notification: Option<Slot>,
        free0: u64,
    ) -> Table {
        let n = specs.len();
        let mut devices = devices.to_vec();
        devices.resize(n, Devices::default());
        Table {
            specs: specs.to_vec(),
            channels: channels.to_vec(),
            devices,
            next_vector: 0,
            notification,
            clock: None,
            kept: Vec::with_capacity(n),
            restarted: alloc::vec![0; n],
            endpoint,
            entries: Vec::with_capacity(n),
            sessions: Vec::with_capacity(n),
            ends: Vec::with_capacity(n),
            out: Outcome::default(),
            free0,
            peak: 0,
            metadata_grown: 0,
        }
    }

    /// Places what every child keeps across restarts, before any starts: each child's
    /// channels need its peers' objects. A child whose kept objects cannot be placed is not
    /// started (its peers' ends to it stay empty).
    pub fn keep_all(&mut self, core: &mut Core) -> Result<(), Error> {
        for index in 0..self.specs.len() {
            let spec = self.specs[index];
            reserve_heap(core, &mut self.free0)?;
            self.reserve_metadata(core)?;
            let devices = self.devices[index].clone();
            let kept = if channels::needs_kept(index, &spec, &self.channels, &devices) {
                let ntfn = self.notification;
                let mut placed = Kept::place(core, index, &spec, &self.channels, &devices, ntfn, &mut self.next_vector);
                while placed.is_err() && crate::root::child_pd::take_short() && self.grow_metadata(core) {
                    placed = Kept::place(core, index, &spec, &self.channels, &devices, ntfn, &mut self.next_vector);
                }
                match placed {
                    Ok(k) => {
                        let (tcb, ntfn, ep, shared, records) = k.parts();
                        let (irqs, pages) = k.devices();
                        println!(
                            "child {}: keeps across restarts {} of its {} budget: TCB {tcb}, notification {ntfn}, endpoint {ep}, shared memory {shared}, core's records {records} (with {irqs} interrupts and {pages} device pages)",
                            spec.name, k.charged, spec.ram
                        );
                        Some(k)
                    }
                    Err(e) => {
                        println!("child {}: not started: {e}", spec.name);
                        None
                    }
                }
            } else {
                None
            };
            self.kept.push(kept);
        }
        let interrupts = self.kept.iter().flatten().any(|k| !k.irqs.is_empty());
        if let (true, Some(ntfn)) = (interrupts, self.notification) {
            // Bit 0 of core's notification: no interrupt has it (theirs are `1 + vector`).
            match Clock::start(core, ntfn, channels::core_badge(0), self.next_vector) {
                Ok(c) => {
                    println!("core: interrupt watchdog on the RTC at {} Hz", watchdog::HZ);
                    self.clock = Some(c);
                }
                Err(e) => println!("core: no interrupt watchdog ({}): an interrupt never acked stays masked", e.0),
            }
        }
        Ok(())
    }

    /// Stops the watchdog's clock (every child is gone).
    pub fn stop(&mut self, core: &mut Core) {
        if let Some(c) = self.clock.take() {
            c.stop(core);
        }
    }

    /// Starts child `index` (again, after a restart: into its entry); a child that cannot start
    /// is reported and has an entry of none.
    pub fn start(&mut self, core: &mut Core, index: usize) -> Result<(), Error> {
        let spec = self.specs[index];
        // The loader's lists of what it placed live on the heap too.
        reserve_heap(core, &mut self.free0)?;
        self.reserve_metadata(core)?;
        let needs = channels::needs_kept(index, &spec, &self.channels, &self.devices[index]);
        let t0 = crate::root::runner::rdtsc();
        let mut started = if needs && self.kept[index].is_none() { Err(None) } else { self.start_once(core, index) };
        // A load that ran out of core's own stores changed nothing: grown, it goes again.
        while started.is_err() && crate::root::child_pd::take_short() && self.grow_metadata(core) {
            started = self.start_once(core, index);
        }
        let cycles = crate::root::runner::rdtsc() - t0;
        let (entry, end) = match started {
            Ok((c, shared)) => {
                // Paging core placed to map the child's log buffer stays core's: the baseline
                // moves by it.
                self.free0 -= c.log.paging_bytes;
                let g = c.charge;
                println!(
                    "child {}: started (priority {}) in {} cycles, {} bytes of ELF ({} cycles per KiB); charged {} of its {} budget in {} objects: \
                     image {}, stack {}, IPC buffer {}, log buffer {}, paging {}, CNode {}, TCB {}, VSpace {}, core's records {}",
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
                    g.log_buffer,
                    g.paging,
                    g.cnode,
                    g.tcb,
                    g.vspace,
                    g.records
                );
                self.out.started += 1;
                (Some(Entry { child: c, line: heapless::Vec::new(), work: Work::default(), shared }), End::Running)
            }
            Err(Some(e)) => {
                println!("child {}: not started: {e}", spec.name);
                (None, End::NotStarted)
            }
            // Reported when its kept objects could not be placed.
            Err(None) => (None, End::NotStarted),
        };
        if entry.is_none() {
            // A child that cannot run keeps nothing: its peers' caps to it die with what it kept
            // (their calls return at once), and an end not given yet is not given.
            if let Some(k) = self.kept[index].take() {
                k.free(core);
            }
        }
        if index < self.entries.len() {
            self.entries[index] = entry;
            self.ends[index] = end;
        } else {
            self.entries.push(entry);
            self.sessions.push(Sessions::default());
            self.ends.push(end);
        }
        Ok(())
    }

    /// One attempt to load child `index`: its channels' caps and shared memory, its PD.
    fn start_once(
        &mut self,
        core: &mut Core,
        index: usize,
    ) -> Result<(Child, SharedMaps), Option<crate::loader::LoadError>> {
        let spec = self.specs[index];
        let kept = &self.kept;
        let mut grants = crate::channel::grants(index, |i| kept.get(i)?.as_ref().map(Kept::peer_caps), &self.channels);
        if let Some(Some(_)) = kept.get(index) {
            let io_port = Slot(sel4::sys::seL4_CapIOPort as u32);
            grants.extend(crate::channel::device_grants(&self.devices[index], io_port));
        }
        let mut shared = SharedMaps::make(core, index, &self.kept, &self.channels).map_err(Some)?;
        let kept = self.kept[index].as_ref();
        let given = Given {
            tcb: kept.map(|k| k.tcb.slot),
            caps: &grants,
            frames: &shared.frames,
            restarts: self.restarted[index] as u64,
        };
        let budget = spec.ram - kept.map_or(0, |k| k.charged);
        match child::start(core, self.endpoint, index, &spec, budget, &given, CHILD_RECORD) {
            Ok(c) => Ok((c, shared)),
            Err(e) => {
                shared.release(core);
                Err(Some(e))
            }
        }
    }

    /// A session request of child `index`: served, timed and counted.
    fn request(&mut self, core: &mut Core, index: usize, request: Request) -> Result<Answer, Error> {
        if let Request::Close { session } = request {
            if let (Some(Some(e)), Some(r)) = (self.entries.get(index), self.sessions[index].report(session)) {
                println!("session {:#x} of {} {r}", session.0, e.child.name);
                self.map_at_peak(core);
            }
        }
        // Room for the records this request may add, grown before the request holds core's
        // allocator. What a growth takes stays core's: it moves the baseline.
        reserve_heap(core, &mut self.free0)?;
        self.reserve_metadata(core)?;
        crate::root::child_pd::take_short();
        let start = Stamp::now();
        let Some(Some(entry)) = self.entries.get(index) else { return Err(Error::Failed("no such child")) };
        let mut words = serve_session(core, &entry.child, &mut self.sessions[index], request);
        // A request that ran out of core's own stores changed nothing: grown, it goes again.
        while words.is_err() && crate::root::child_pd::take_short() && self.grow_metadata(core) {
            let Some(Some(entry)) = self.entries.get(index) else { break };
            words = serve_session(core, &entry.child, &mut self.sessions[index], request);
        }
        let Some(Some(entry)) = self.entries.get_mut(index) else { return Err(Error::Failed("no such child")) };
        entry.work.add(request.label(), start);
        Ok(answer(words))
    }

    /// Child `index` is gone (`end`): closes its sessions and frees its protection domain,
    /// and checks that exactly what it was charged came back.
    /// With `for_good`, what it kept across restarts goes too; else it stays for the next start.
    fn reclaim(&mut self, core: &mut Core, index: usize, end: End, for_good: bool) {
        self.map_at_peak(core);
        let Some(Some(mut e)) = self.entries.get_mut(index).map(Option::take) else { return };
        flush(&mut e);
        let sessions = &mut self.sessions[index];
        let kept = if for_good { self.kept[index].take() } else { None };
        let kept_bytes = kept.as_ref().map_or(0, Kept::object_bytes);
        let (name, charged) = (e.child.name, e.child.charge.objects() + sessions.object_bytes() + kept_bytes);
        let before = core.ours.ram().avail();
        let c = &e.child;
        let mut pd = ChildPd { core, vspace: c.vspace, cnode: c.cnode, cnode_bits: c.cnode_bits };
        sessions.close_all(&mut pd, |r| println!("session {:#x} of {name} {r}", r.session.0));
        e.shared.release(core);
        e.child.reclaim(core);
        if let Some(k) = kept {
            k.free(core);
        } else if let Some(Some(k)) = self.kept.get_mut(index) {
            k.release_interrupts();
        }
        let back = core.ours.ram().avail() - before;
        // Exact both ways: more back than was charged is an error of core's, too.
        let lost = charged as i128 - back as i128;
        if lost < 0 {
            self.out.surplus += lost.unsigned_abs() as u64;
            println!(
                "child {name}: reclaimed: {back} of {charged} bytes back in the allocator, {} bytes more than charged",
                -lost
            );
        } else {
            println!("child {name}: reclaimed: {back} of {charged} bytes back in the allocator, leaked {lost} bytes");
        }
        let lost = lost.max(0) as u64;
        e.work.print(name);
        self.ends[index] = match end {
            End::Exited { code, .. } => End::Exited { code, leaked: lost },
            End::Faulted { fault, .. } => End::Faulted { fault, leaked: lost },
            e => e,
        };
    }

    /// With feature `memory-map`: prints core's memory map with each object's owner (core, a
    /// child, or a child's session) when the children hold more than at the last map printed,
    /// just before core frees a session's or a child's objects: the last map printed shows the
    /// children at their peak.
    fn map_at_peak(&mut self, core: &Core) {
        if !cfg!(feature = "memory-map") {
            return;
        }
        let live = || self.entries.iter().zip(&self.sessions).filter_map(|(s, r)| Some((s.as_ref()?, r)));
        let held: u64 = live().map(|(s, r)| s.child.charge.objects() + r.object_bytes()).sum::<u64>()
            + self.kept.iter().flatten().map(Kept::object_bytes).sum::<u64>();
        if held <= self.peak {
            return;
        }
        self.peak = held;
        let ours = &core.ours;
        let kept = &self.kept;
        let owner = |node: NodeId| {
            for (i, k) in kept.iter().enumerate() {
                if k.as_ref().is_some_and(|k| k.handles().any(|h| ours.node_of(h) == Some(node))) {
                    return Owner::Child { name: self.specs[i].name, session: None };
                }
            }
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
}

impl Handler for Table {
    fn received(&mut self, core: &mut Core, m: &syscalls::Received) -> Result<Option<Answer>, Error> {
        if m.badge & channels::NOTIFIED != 0 {
            self.notified(core, m.badge)?;
            return Ok(None);
        }
        let (index, fault) = ((m.badge >> 1) as usize, m.badge & 1 == 1);
        // A badge core did not hand out, or of a child already gone: nothing to answer.
        let Some(Some(entry)) = self.entries.get_mut(index) else { return Ok(None) };
        if fault {
            let f = Fault::read(m.info.label(), &m.mrs);
            println!("child {}: faulted: {f}", entry.child.name);
            self.failed(core, index, f)?;
            return Ok(None);
        }
        // A message longer than the registers carry is longer than any request.
        let len = m.info.length();
        let words = if len > m.mrs.len() { &[][..] } else { &m.mrs[..len] };
        match Request::decode(m.info.label(), words) {
            Ok(Request::Log { len, bytes }) => {
                log(entry, &bytes[..(len as usize).min(LOG_BYTES)]);
                Ok(Some((MessageInfo::new(0, 0, 0, 0), [0; 4])))
            }
            Ok(Request::LogBuffer { len }) => {
                // `len` is at most the buffer's size (`Request::validate`).
                let window = entry.child.log;
                window.read(len, |piece| log(entry, piece));
                Ok(Some((MessageInfo::new(0, 0, 0, 0), [0; 4])))
            }
            Ok(Request::Exit { code }) => {
                flush(entry);
                println!("child {}: exited with code {code}", entry.child.name);
                self.out.exited += 1;
                self.reclaim(core, index, End::Exited { code, leaked: 0 }, true);
                Ok(None)
            }
            Ok(Request::Channel { id }) => {
                let kept = &self.kept;
                let started = |i: usize| matches!(kept.get(i), Some(Some(_)));
                let reply = crate::channel::describe(index, id, started, &self.channels, &self.devices[index]);
                Ok(Some(answer(reply.map(|r| r.to_words()))))
            }
            Ok(Request::Device { kind, index: i }) => {
                let reply = crate::channel::describe_device(&self.devices[index], kind, i);
                Ok(Some(answer(reply.map(|r| r.to_words()))))
            }
            Ok(Request::Ack { id }) => {
                let irq = self.kept[index].as_mut().and_then(|k| k.irqs.iter_mut().find(|i| i.id as u64 == id));
                let acked = irq.ok_or(ErrorCode::Denied).and_then(|i| i.ack());
                Ok(Some(answer(acked.map(|()| Done.to_words()))))
            }
            Ok(request) => self.request(core, index, request).map(Some),
            Err(e) => Ok(Some(refusal(e))),
        }
    }

    fn done(&self) -> bool {
        self.entries.iter().all(Option::is_none)
    }
}

/// The reply to a request: its result words, or its error code as the label.
fn answer(words: Result<Words, ErrorCode>) -> Answer {
    match words {
        Ok(words) => {
            let w = words.as_slice();
            let mut mrs = [0; 4];
            mrs[..w.len()].copy_from_slice(w);
            (MessageInfo::new(0, 0, 0, w.len()), mrs)
        }
        Err(e) => refusal(e),
    }
}

fn refusal(e: ErrorCode) -> Answer {
    (MessageInfo::new(e as Word, 0, 0, 0), [0; 4])
}

impl Table {
    /// Child `index` faulted (`f`), or was taken for hung: reclaimed, and started again where
    /// its policy says.
    fn failed(&mut self, core: &mut Core, index: usize, f: Fault) -> Result<(), Error> {
        self.out.faulted += 1;
        let (limit, done) = (self.specs[index].restarts, self.restarted[index]);
        let restart = done < limit && self.kept[index].is_some();
        self.reclaim(core, index, End::Faulted { fault: f, leaked: 0 }, !restart);
        if restart {
            self.restarted[index] += 1;
            println!(
                "child {}: restarting from its image (restart {} of at most {limit})",
                self.specs[index].name, self.restarted[index]
            );
            self.start(core, index)?;
        } else if limit > 0 {
            println!("child {}: not restarted: {done} restarts of at most {limit} done", self.specs[index].name);
        }
        Ok(())
    }

    /// Signals on core's notification (`word`): interrupts, delivered to their children, and
    /// the watchdog's tick, at which a child that left an interrupt unacked for longer than
    /// its grant allows is taken for hung.
    fn notified(&mut self, core: &mut Core, word: Word) -> Result<(), Error> {
        let tick = self.clock.as_ref().map_or(0, |c| c.ticks);
        for k in self.kept.iter_mut().flatten() {
            for irq in k.irqs.iter_mut().filter(|i| word & 1 << i.bit != 0) {
                irq.deliver(tick);
            }
        }
        let Some(clock) = self.clock.as_mut().filter(|_| word & 1 != 0) else { return Ok(()) };
        clock.tick();
        let now = clock.ticks;
        fn hung(k: &Kept, now: u64) -> Option<&channels::KeptIrq> {
            k.irqs.iter().find(|i| i.outstanding.is_some_and(|t| now - t > Clock::ticks_for(i.ack_within_ms)))
        }
        let late: Vec<(usize, u8, u32)> = self
            .kept
            .iter()
            .enumerate()
            .filter_map(|(index, k)| hung(k.as_ref()?, now).map(|i| (index, i.id, i.ack_within_ms)))
            .collect();
        for (index, id, ms) in late {
            let Some(Some(entry)) = self.entries.get(index) else { continue };
            let f = Fault::NotAcked { id, ms };
            println!("child {}: hung: {f}", entry.child.name);
            self.failed(core, index, f)?;
        }
        Ok(())
    }

    /// Grows core's metadata while one of its stores is low (`metadata::low`).
    fn reserve_metadata(&mut self, core: &mut Core) -> Result<(), Error> {
        while crate::root::metadata::low(core) {
            if !self.grow_metadata(core) {
                break;
            }
        }
        Ok(())
    }

    /// Doubles core's metadata (`metadata::grow`); whether it grew. What growing takes of the
    /// RAM allocator is core's own: the baseline moves by exactly that.
    fn grow_metadata(&mut self, core: &mut Core) -> bool {
        let avail0 = core.ours.ram().avail();
        match crate::root::metadata::grow(core) {
            Ok(s) => {
                let took = avail0 as i128 - core.ours.ram().avail() as i128;
                self.free0 = (self.free0 as i128 - took) as u64;
                self.metadata_grown += 1;
                println!(
                    "core's metadata grew to {} pool nodes, {} cap slots, {} + {} range blocks ({took} bytes of RAM)",
                    s.pool, s.caps, s.ram, s.device
                );
                true
            }
            Err(e) => {
                println!("core's metadata did not grow: {e}");
                false
            }
        }
    }
}

/// Grows core's heap to its headroom (`heap::reserve`). What a growth takes of the RAM
/// allocator (frames and paging structures) is core's own for good, so the free bytes the
/// children are compared against move by exactly that.
pub fn reserve_heap(core: &mut Core, free: &mut u64) -> Result<(), Error> {
    let avail0 = core.ours.ram().avail();
    heap::reserve(core, heap::HEADROOM)?;
    *free -= avail0 - core.ours.ram().avail();
    Ok(())
}

/// Serves a session request of child `c`, whose sessions are `sessions`.
fn serve_session(core: &mut Core, c: &Child, sessions: &mut Sessions, request: Request) -> Result<Words, ErrorCode> {
    let (lent_ram, lent_caps) = sessions.lent();
    let client = Client {
        cnode_bits: c.cnode_bits,
        prio: c.prio,
        ram_left: c.budget.saturating_sub(c.charge.total() + lent_ram),
        caps_left: c.caps.saturating_sub(lent_caps),
    };
    let mut pd = ChildPd { core, vspace: c.vspace, cnode: c.cnode, cnode_bits: c.cnode_bits };
    sessions.serve(&mut pd, &client, request)
}

/// Appends `bytes` to the child's line and prints each complete line with its name.
fn log(e: &mut Entry, bytes: &[u8]) {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        append(e, &rest[..i]);
        flush(e);
        rest = &rest[i + 1..];
    }
    append(e, rest);
}

/// Appends `text` (no newline in it) to the child's line: whole where it fits, else byte by
/// byte, printing each line that fills.
fn append(e: &mut Entry, text: &[u8]) {
    if e.line.extend_from_slice(text).is_err() {
        for &b in text {
            push_byte(e, b);
        }
    }
}

/// Appends byte `b` (no newline) to the child's line; a full line is printed first, cut before
/// a character whose bytes it would split (the start of that character carries over to the
/// next line).
fn push_byte(e: &mut Entry, b: u8) {
    if e.line.is_full() {
        let carry = crate::log_line::utf8_tail(&e.line);
        let kept: heapless::Vec<u8, 4> = e.line[e.line.len() - carry..].iter().copied().collect();
        e.line.truncate(e.line.len() - carry);
        flush(e);
        let _ = e.line.extend_from_slice(&kept);
    }
    let _ = e.line.push(b);
}

/// Prints the child's line with its name; bytes that are no UTF-8 are shown as `\xNN`.
fn flush(e: &mut Entry) {
    if e.line.is_empty() {
        return;
    }
    // A valid line (nearly every one) as a plain `str`: through `Escaped` it costs about 400
    // instructions more per line (`boot session-bench --icount`, the log line figure).
    match core::str::from_utf8(&e.line) {
        Ok(text) => println!("[{}] {text}", e.child.name),
        Err(_) => println!("[{}] {}", e.child.name, Escaped(&e.line)),
    }
    e.line.clear();
}
