//! core serving its children over one endpoint, in parts: [`children`] is the table of
//! children and the [`receive::Handler`] that says what each message means (a request decoded
//! by `sel4_core_protocol` and served through the child's sessions, an exit, a fault reported
//! with [`fault`]); [`receive`] is the receive/reply loop; what serving cost is
//! [`crate::root::telemetry`]'s.
//! This file starts the children, runs the loop until every child is gone, and then compares
//! the RAM allocator's free bytes, largest free block and bookkeeping with their values before
//! the first child was loaded, and prints the summary.

pub mod children;
pub mod fault;
pub mod receive;

use sel4_root_task::println;

use crate::loader::Spec;
use crate::object::ObjectType;
use crate::root::child;
use crate::root::error::Error;
use crate::root::heap;
use crate::root::state::{Core, InUse};
use crate::size::Size;
use children::{End, Table, CHILD_RECORD};
use sel4_core_system::{Channel, Devices};

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
/// Core's own objects for serving (its endpoint) are freed when every child is gone, so
/// `serve` may run again; the window's paging structures and the heap stay.
pub fn serve(
    core: &mut Core,
    specs: &[Spec<'static>],
    channels: &[Channel],
    devices: &[Devices],
) -> Result<Outcome, Error> {
    // Core's own objects for serving: the window it fills child frames through, its endpoint.
    child::prepare_windows(core, specs.len())?;
    let ep = core.ours.alloc(&mut core.kernel, ObjectType::Endpoint, 0).map_err(|failure| Error::Alloc {
        ty: ObjectType::Endpoint,
        size_bits: 0,
        failure,
    })?;
    // Interrupts come on a notification bound to core's thread, so the one receive on the
    // endpoint takes them too (`seL4_TCB_BindNotification`).
    let ntfn = if devices.iter().any(|d| !d.irqs.is_empty()) {
        let n = core.ours.alloc(&mut core.kernel, ObjectType::Notification, 0).map_err(|failure| Error::Alloc {
            ty: ObjectType::Notification,
            size_bits: 0,
            failure,
        })?;
        sel4::init_thread::TCB
            .tcb_bind_notification(sel4::Cap::from_bits(n.slot.0 as sel4::Word))
            .map_err(|_| Error::Failed("bind a notification to core's thread"))?;
        Some(n)
    } else {
        None
    };
    // The tables of children and of their sessions live on core's heap, with room for the
    // records of the first requests.
    heap::reserve(core, heap::HEADROOM + specs.len() * CHILD_RECORD as usize)?;
    let mut table = Table::new(specs, channels, devices, ep.slot, ntfn.map(|n| n.slot), 0);
    // Splits cached from earlier work merge back, so that the bookkeeping before and after the
    // children is what core's own live objects need, and comparable.
    core.ours.compact(&mut core.kernel)?;
    let heap0 = heap::size().0;
    let (free0, largest0) = (core.ours.ram().avail(), core.ours.ram().largest_free());
    table.free0 = free0;
    let use0 = InUse::of(core);
    println!("core in use before the children: {use0}");
    table.keep_all(core)?;
    for index in 0..specs.len() {
        table.start(core, index)?;
    }
    receive::run(core, ep.slot, &mut table)?;
    table.stop(core);
    core.ours.compact(&mut core.kernel)?;
    let (free1, largest1) = (core.ours.ram().avail(), core.ours.ram().largest_free());
    let use1 = InUse::of(core);
    let grown = heap::size().0 - heap0 + table.metadata_grown as u64;
    if grown > 0 {
        // The heap keeps what it grew by for core's next records. Free bytes are compared
        // against a baseline moved by exactly what each growth took; the largest free block and
        // the pool and cap-space counts depend on where the growth's splits fell among the
        // children's, so they are compared only when the heap did not grow.
        println!(
            "core's heap grew by {} bytes and its metadata {} times while the children ran (kept for reuse); \
             free bytes compared, largest free block and bookkeeping counts not",
            heap::size().0 - heap0,
            table.metadata_grown
        );
    }
    println!("core in use after the children: {use1}");
    // No child holds a cap to the endpoint any more: core's own goes too.
    core.ours.free(&mut core.kernel, ep.handle)?;
    if let Some(n) = ntfn {
        // Unbound before its last cap goes (which would unbind it too).
        let _ = sel4::init_thread::TCB.tcb_unbind_notification();
        core.ours.free(&mut core.kernel, n.handle)?;
    }
    let (free0, mut out) = (table.free0, table.out);
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
    for (i, (spec, end)) in specs.iter().zip(table.ends.iter()).enumerate() {
        match end {
            End::NotStarted => println!("summary: child {i} {}: not started", spec.name),
            End::Running => println!("summary: child {i} {}: still running", spec.name),
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
