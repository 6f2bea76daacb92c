//! Placement fidelity on the real kernel: interleaved allocations of every
//! object type of this kernel, some at addresses core chose with a stronger
//! alignment, some inside a physical range, some anywhere; frees in between.
//! Each object must be at the address the allocator chose (with `audit`, the
//! kernel confirms each one). Then the error cases: out of memory, an
//! impossible constraint, a capacity limit, a kernel object in device memory;
//! core reports each and keeps serving.

use sel4_core::cap_space::{CapEntry, CapSpace};
use sel4_core::kernel::{Capacity, Kernel, Slot, UntypedDesc};
use sel4_core::object::ObjectType;
use sel4_core::phys_allocator::{AllocFailure, ObjectId};
use sel4_core::placement::{PlaceError, Placer};
use sel4_core::untyped_pool::{PoolNode, UntypedPool};
use sel4_root_task::println;

use sel4_core::root::error::Error;
use sel4_core::root::runner::Runner;

/// One request of the interleaved sequence.
#[derive(Copy, Clone)]
struct Req {
    ty: ObjectType,
    size_bits: u8,
}

const fn req(ty: ObjectType, size_bits: u8) -> Req {
    Req { ty, size_bits }
}

/// Every object type, several sizes of the variable ones.
const TYPES: [Req; 18] = [
    req(ObjectType::Untyped, 4),
    req(ObjectType::Tcb, 0),
    req(ObjectType::Endpoint, 0),
    req(ObjectType::Notification, 0),
    req(ObjectType::CNode, 1),
    req(ObjectType::Frame4K, 0),
    req(ObjectType::Untyped, 12),
    req(ObjectType::CNode, 4),
    req(ObjectType::PageTable, 0),
    req(ObjectType::Frame2M, 0),
    req(ObjectType::PageDirectory, 0),
    req(ObjectType::CNode, 8),
    req(ObjectType::Pdpt, 0),
    req(ObjectType::Untyped, 20),
    req(ObjectType::Pml4, 0),
    req(ObjectType::CNode, 12),
    req(ObjectType::Untyped, 16),
    req(ObjectType::Frame1G, 0),
];

/// How a request says where its object goes.
#[derive(Copy, Clone, Debug)]
enum Constraint {
    Anywhere,
    /// An address core picked from its free RAM with 2^align alignment.
    Aligned(u8),
    /// Somewhere in `[lo, hi)`.
    Range(u64, u64),
}

/// A free RAM address aligned to 2^align with room for 2^bits bytes, from the allocator's
/// free blocks (the highest fitting one, so these requests interleave with first-fit ones).
fn pick_aligned(run: &Runner, bits: u8, align: u8) -> Option<u64> {
    let mask = (1u64 << align) - 1;
    let mut best = None;
    for b in run.core.ours.ram().iter().filter(|b| !b.used) {
        let a = (b.base + mask) & !mask;
        if a.checked_add(1u64 << bits).is_some_and(|end| end <= b.end()) {
            best = Some(a);
        }
    }
    best
}

fn describe(c: Constraint) -> heapless::String<48> {
    use core::fmt::Write;
    let mut s = heapless::String::new();
    let _ = match c {
        Constraint::Anywhere => write!(s, "anywhere"),
        Constraint::Aligned(a) => write!(s, "chosen, 2^{a} aligned"),
        Constraint::Range(lo, hi) => write!(s, "in [{lo:#x}, {hi:#x})"),
    };
    s
}

pub fn placement(run: &mut Runner) -> Result<(), Error> {
    let mut live: heapless::Vec<ObjectId, 128> = heapless::Vec::new();
    let (mut asked, mut at_choice, mut unavailable) = (0u32, 0u32, 0u32);
    let constraints = |i: usize, bits: u8| match i % 3 {
        0 => Constraint::Anywhere,
        1 => Constraint::Aligned((bits + 3).min(30)),
        // The upper half of the first 256 MiB of RAM core saw (DMA-style window).
        _ => Constraint::Range(0x0800_0000, 0x1000_0000),
    };
    for round in 0..3usize {
        for (i, r) in TYPES.iter().enumerate() {
            let bits = r.ty.object_bits(r.size_bits).map_err(|_| Error::Failed("placement: bad request"))?;
            let c = constraints(i + round, bits);
            let (addr, range) = match c {
                Constraint::Anywhere => (None, None),
                Constraint::Aligned(a) => match pick_aligned(run, bits, a) {
                    Some(x) => (Some(x), None),
                    None => (None, None),
                },
                Constraint::Range(lo, hi) => (None, Some((lo, hi))),
            };
            let res = match (addr, range) {
                (_, Some((lo, hi))) => run.alloc_in(r.ty, r.size_bits, lo, hi),
                (Some(a), None) => run.alloc_at(r.ty, r.size_bits, a),
                (None, None) => run.alloc(r.ty, r.size_bits),
            };
            let p = match res {
                Ok(p) => p,
                // 1 GiB frames need a free 1 GiB of RAM; a range may be too small for a block.
                Err(Error::Alloc { failure: AllocFailure::NoBlock, .. })
                    if bits >= ObjectType::Frame1G.fixed_bits().unwrap_or(u8::MAX)
                        || range.is_some_and(|(lo, hi)| 1u64 << bits >= hi - lo) =>
                {
                    unavailable += 1;
                    println!(
                        "placement: {} {}: no free block of 2^{bits} for {c:?} (this RAM or range has none)",
                        r.ty.name(),
                        r.size_bits
                    );
                    continue;
                }
                Err(e) => {
                    println!("placement: {} {} ({c:?}) failed: {e}", r.ty.name(), r.size_bits);
                    return Err(Error::Failed("placement: allocation failed"));
                }
            };
            asked += 1;
            let ok = p.paddr & ((1u64 << bits) - 1) == 0
                && addr.is_none_or(|a| a == p.paddr)
                && range.is_none_or(|(lo, hi)| p.paddr >= lo && p.paddr + (1u64 << bits) <= hi);
            if ok {
                at_choice += 1;
            }
            println!(
                "placement: {:<14} {:>2} at {:#012x} {:<28} {}",
                r.ty.name(),
                r.size_bits,
                p.paddr,
                describe(c),
                if ok { "ok" } else { "MISS" }
            );
            let _ = live.push(p.handle);
            // Interleave frees: every third object goes again, leaving holes for later ones.
            if live.len().is_multiple_of(3) {
                let h = live.swap_remove(live.len() / 2);
                run.free(h)?;
            }
        }
    }
    let inv = run.invocations();
    println!(
        "placed {at_choice}/{asked} at the chosen address ({unavailable} requests without a free block in this RAM); invocations: {} retypes, {} revokes, {} deletes",
        inv.retypes, inv.revokes, inv.deletes
    );
    for h in live {
        run.free(h)?;
    }
    if at_choice != asked {
        return Err(Error::Failed("placement: objects not at the chosen address"));
    }
    Ok(())
}

/// An allocation's result as core reports it: the address, or the error.
struct Outcome<'a>(&'a Result<sel4_core::phys_allocator::Placed, Error>);

impl core::fmt::Display for Outcome<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Ok(p) => write!(f, "placed at {:#x}", p.paddr),
            Err(e) => write!(f, "error: {e}"),
        }
    }
}

/// Errors core must report and survive.
pub fn errors(run: &mut Runner) -> Result<(), Error> {
    // Out of memory: more RAM than the machine has.
    let r = run.alloc(ObjectType::Untyped, 40);
    println!("error case (out of memory): untyped of 1 TiB: {}", Outcome(&r));
    expect(matches!(r, Err(Error::Alloc { failure: AllocFailure::NoBlock, .. })), "out of memory not reported")?;
    // Impossible constraints: a 2 MiB frame in a 512 KiB window; a misaligned address.
    let r = run.alloc_in(ObjectType::Frame2M, 0, 0x0100_0000, 0x0108_0000);
    println!("error case (impossible constraint): 2 MiB frame in [0x1000000, 0x1080000): {}", Outcome(&r));
    expect(matches!(r, Err(Error::Alloc { failure: AllocFailure::NoBlock, .. })), "impossible range not reported")?;
    let r = run.alloc_at(ObjectType::Frame4K, 0, 0x0100_0800);
    println!("error case (impossible constraint): 4 KiB frame at 0x1000800: {}", Outcome(&r));
    expect(
        matches!(r, Err(Error::Alloc { failure: AllocFailure::Invalid(_), .. })),
        "misaligned address not reported",
    )?;
    // A RAM-only object type in device memory (the VGA text buffer's device untyped).
    let r = run.alloc_at(ObjectType::Tcb, 0, 0xb8000);
    println!("error case (device memory): TCB at 0xb8000: {}", Outcome(&r));
    expect(
        matches!(r, Err(Error::Alloc { failure: AllocFailure::Invalid(_), .. })),
        "kernel object in device memory not refused",
    )?;
    capacity(run)?;
    // Still serving.
    let p = run.alloc(ObjectType::Endpoint, 0)?;
    println!("after the errors: endpoint placed at {:#x}; core keeps serving", p.paddr);
    run.free(p.handle)?;
    Ok(())
}

fn expect(ok: bool, what: &'static str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::Failed(what))
    }
}

/// Nodes of the small placer's pool: the first endpoint takes 25 (12 splits from 64 KiB down
/// to 16 bytes), later ones fewer, so some endpoints are placed before the pool runs out.
const SMALL_POOL_NODES: usize = 40;

/// A capacity limit: a placer with a 40-node pool over a real 64 KiB untyped (placed by
/// core), asked for 16-byte endpoints at consecutive addresses until its pool is full; it
/// must have placed some, and must still free and place after the error.
fn capacity(run: &mut Runner) -> Result<(), Error> {
    let u = run.alloc(ObjectType::Untyped, 16)?;
    let root = [UntypedDesc { slot: u.slot, paddr: u.paddr, size_bits: 16, is_device: false }];
    let mut nodes = [PoolNode::EMPTY; SMALL_POOL_NODES];
    // Enough slots for every split the pool allows (2 each) and an object per leaf, so the
    // pool, not the CSpace, is what runs out.
    let mut entries = [CapEntry::EMPTY; sel4_core::root::state::RESERVED_SLOTS as usize];
    let pool = UntypedPool::new(&mut nodes[..], &root).map_err(|_| Error::Failed("small pool"))?;
    let caps =
        CapSpace::new(&mut entries[..], Slot(run.core.reserved.start)).map_err(|_| Error::Failed("small cap space"))?;
    let mut small = Placer::new(pool, caps);
    let mut placed = 0;
    let mut first = None;
    let err = loop {
        match small.place(&mut run.core.kernel, ObjectType::Endpoint, 0, u.paddr + placed * 16) {
            Ok(p) => {
                first.get_or_insert(p);
                placed += 1;
            }
            Err(e) => break e,
        }
    };
    println!(
        "error case (capacity): a placer with a {SMALL_POOL_NODES}-node pool on a 64 KiB untyped at {:#x}: {placed} endpoints, then {err} ({} of {SMALL_POOL_NODES} nodes in use)",
        u.paddr,
        small.pool.nodes_in_use()
    );
    expect(err == PlaceError::Capacity(Capacity::PoolNodes), "capacity limit not reported")?;
    let first = first.ok_or(Error::Failed("capacity: no endpoint placed before the limit"))?;
    // The full placer keeps working: free the first endpoint and place one at its address again.
    small.release(&mut run.core.kernel, first.node).map_err(|_| Error::Failed("capacity: free after the limit"))?;
    let again = small
        .place(&mut run.core.kernel, ObjectType::Endpoint, 0, first.paddr)
        .map_err(|_| Error::Failed("capacity: place after the limit"))?;
    if let Some(audit) = run.audit.as_mut() {
        // Its 16-byte leaf must be full in the kernel too.
        audit.node(&mut run.core, &small.pool.info(again.node))?;
    }
    println!(
        "error case (capacity): after the limit the small placer freed the endpoint at {:#x} and placed one there again",
        again.paddr
    );
    // Everything the small placer made descends from the 64 KiB untyped object: one revoke.
    run.core.kernel.cnode_revoke(u.slot).map_err(|_| Error::Failed("revoke small placer"))?;
    run.free(u.handle)?;
    Ok(())
}
