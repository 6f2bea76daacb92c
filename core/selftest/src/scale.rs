//! Bulk runs on the real kernel, measured with the TSC:
//! * `churn`: seeded random allocations and frees of mixed types (at least
//!   10^5 operations, audited when built with `audit`), then everything is
//!   freed and the largest block core had before is allocated again;
//! * `scale`: 10^5 objects allocated (all live at once), then all freed.
//!
//! Cycles per operation count core's alloc/free only (the audit's questions
//! to the kernel are outside the measurement).

use sel4_core::static_slab::StaticSlab;

use sel4::BootInfo;
use sel4_core::kernel::InvocationCounts;
use sel4_core::object::ObjectType;
use sel4_core::phys_allocator::{AllocFailure, ObjectId};
use sel4_root_task::println;

use sel4_core::root::error::Error;
use sel4_core::root::runner::{yield_cycles, OpStats, Runner, YIELD_SAMPLES};
use sel4_core::size::Size;

/// xorshift64*: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Mixed requests, weighted by repetition: small kernel objects, frames, CNodes and untypeds
/// of several sizes, and now and then a 2 MiB frame.
const MIX: [(ObjectType, u8); 20] = [
    (ObjectType::Endpoint, 0),
    (ObjectType::Endpoint, 0),
    (ObjectType::Notification, 0),
    (ObjectType::Notification, 0),
    (ObjectType::Tcb, 0),
    (ObjectType::Tcb, 0),
    (ObjectType::Frame4K, 0),
    (ObjectType::Frame4K, 0),
    (ObjectType::Frame4K, 0),
    (ObjectType::PageTable, 0),
    (ObjectType::CNode, 1),
    (ObjectType::CNode, 4),
    (ObjectType::CNode, 6),
    (ObjectType::Untyped, 4),
    (ObjectType::Untyped, 9),
    (ObjectType::Untyped, 12),
    (ObjectType::Untyped, 16),
    (ObjectType::PageDirectory, 0),
    (ObjectType::Frame4K, 0),
    (ObjectType::Frame2M, 0),
];

fn delta(a: InvocationCounts, b: InvocationCounts) -> InvocationCounts {
    InvocationCounts { retypes: b.retypes - a.retypes, deletes: b.deletes - a.deletes, revokes: b.revokes - a.revokes }
}

fn report(what: &str, ops: u64, s0: OpStats, s1: OpStats, i0: InvocationCounts, i1: InvocationCounts, mhz: u64) {
    let inv = delta(i0, i1);
    let cycles = s1.cycles - s0.cycles;
    let ops = ops.max(1);
    // The floor, measured now: TCG's speed drifts with the host's load.
    let floor = yield_cycles(YIELD_SAMPLES).max(1);
    println!(
        "{what}: {ops} ops: {:.3} invocations/op ({} retypes, {} deletes, {} revokes), {} cycles/op ({} ns/op at {mhz} MHz TSC, QEMU TCG) = {:.1} x seL4_Yield ({floor} cycles)",
        inv.total() as f64 / ops as f64,
        inv.retypes,
        inv.deletes,
        inv.revokes,
        cycles / ops,
        cycles * 1000 / mhz.max(1) / ops,
        (cycles / ops) as f64 / floor as f64
    );
}

/// The largest naturally aligned free RAM block, allocated as an untyped and freed again.
fn largest_block(run: &mut Runner, what: &str, want: Option<u8>) -> Result<u8, Error> {
    let bits = run.core.ours.ram().largest_aligned_free_log2().ok_or(Error::Failed("no free RAM"))?.min(47);
    let p = run.alloc(ObjectType::Untyped, bits)?;
    println!("{what}: largest free block 2^{bits} ({}) allocated as an untyped at {:#x}", Size(1u128 << bits), p.paddr);
    run.free(p.handle)?;
    if want.is_some_and(|w| w != bits) {
        return Err(Error::Failed("largest block after free-all differs from before"));
    }
    Ok(bits)
}

const CHURN_OPS: u64 = 100_000;
const CHURN_LIVE: usize = 1024;

pub fn churn(run: &mut Runner, bi: &BootInfo) -> Result<(), Error> {
    let mhz = bi.tsc_mhz();
    let before = largest_block(run, "churn", None)?;
    let mut rng = Rng(0x5eed_0000_c0de_0001);
    let mut live: heapless::Vec<ObjectId, CHURN_LIVE> = heapless::Vec::new();
    let (s0, i0) = (run.stats, run.invocations());
    let mut failed = 0u64;
    for _ in 0..CHURN_OPS {
        let r = rng.next();
        // Drift towards about half of the table live, then churn around it.
        let alloc = live.is_empty()
            || (live.len() < CHURN_LIVE && (r % 100) < if live.len() < CHURN_LIVE / 2 { 65 } else { 45 });
        if alloc {
            let (ty, sb) = MIX[((r >> 8) % MIX.len() as u64) as usize];
            match run.alloc(ty, sb) {
                Ok(p) => {
                    let _ = live.push(p.handle);
                }
                Err(Error::Alloc { failure: AllocFailure::NoBlock, .. }) => failed += 1,
                Err(e) => {
                    println!("churn: {} {sb}: {e}", ty.name());
                    return Err(Error::Failed("churn: allocation refused"));
                }
            }
        } else {
            let h = live.swap_remove(((r >> 8) % live.len() as u64) as usize);
            run.free(h)?;
        }
    }
    let (s1, i1) = (run.stats, run.invocations());
    println!(
        "churn: {} allocs, {} frees, {failed} without a block, {} live at the end (seed 0x5eed0000c0de0001)",
        s1.allocs - s0.allocs,
        s1.frees - s0.frees,
        live.len()
    );
    report("churn", s1.ops() - s0.ops(), s0, s1, i0, i1, mhz);
    let n = live.len();
    for h in live {
        run.free(h)?;
    }
    println!("churn: freed the {n} objects still live");
    largest_block(run, "churn: after free-all", Some(before))?;
    println!("churn: the largest block is allocatable again");
    Ok(())
}

pub const SCALE_OBJECTS: usize = 100_000;
/// Bytes of core's metadata per live object the scale test aims at.
const METADATA_TARGET: usize = 64;

/// Bytes of core's metadata in use per live object (pool nodes, cap slots and RAM range blocks
/// in use, beyond what the boot state used), with its target and a printed verdict.
fn metadata_per_object(run: &Runner) {
    use core::mem::size_of;
    use sel4_core::cap_space::CapEntry;
    use sel4_core::untyped_pool::PoolNode;
    let ours = &run.core.ours;
    let (nodes, slots, blocks) = (
        ours.placer.pool.nodes_in_use(),
        ours.placer.caps.capacity() - ours.placer.caps.free_slots(),
        ours.ram().len(),
    );
    // A RAM block is a node of the slab plus its share of the used table.
    let block_bytes = ours.ram().slab_bytes() / ours.ram().capacity();
    let bytes = nodes * size_of::<PoolNode>() + slots * size_of::<CapEntry>() + blocks * block_bytes;
    let per = bytes / SCALE_OBJECTS;
    println!(
        "scale: metadata per live object: {per} bytes ({nodes} pool nodes of {} B, {slots} cap slots of {} B, {blocks} RAM blocks of {} B for {SCALE_OBJECTS} objects); target <= {METADATA_TARGET}: {}",
        size_of::<PoolNode>(),
        size_of::<CapEntry>(),
        block_bytes,
        if per <= METADATA_TARGET { "met" } else { "MISSED" }
    );
}
static HANDLES: StaticSlab<ObjectId, SCALE_OBJECTS> = StaticSlab::new();

pub fn scale(run: &mut Runner, bi: &BootInfo) -> Result<(), Error> {
    let mhz = bi.tsc_mhz();
    let handles = HANDLES.take(ObjectId(0)).ok_or(Error::Failed("scale: runs once (its handle table is taken)"))?;
    let before = largest_block(run, "scale", None)?;
    let mut rng = Rng(0x5ca1_e000_0000_0001);
    let (s0, i0) = (run.stats, run.invocations());
    for (i, slot) in handles.iter_mut().enumerate() {
        // Small objects only (no 2 MiB frames), so 10^5 fit in the RAM of the run.
        let (ty, sb) = MIX[((rng.next() >> 8) % (MIX.len() as u64 - 1)) as usize];
        match run.alloc(ty, sb) {
            Ok(p) => *slot = p.handle,
            Err(e) => {
                println!("scale: object {i} ({} {sb}): {e}", ty.name());
                let caps = &run.core.ours.placer.caps;
                println!(
                    "scale: pool {} of {} nodes in use, {} cap slots free",
                    run.core.ours.placer.pool.nodes_in_use(),
                    run.core.ours.placer.pool.capacity(),
                    caps.free_slots()
                );
                return Err(Error::Failed("scale: allocation failed"));
            }
        }
        if (i + 1) % 25_000 == 0 {
            println!("scale: {} objects live", i + 1);
        }
    }
    let (s1, i1) = (run.stats, run.invocations());
    let pool = &run.core.ours.placer.pool;
    println!(
        "scale: {SCALE_OBJECTS} objects live: pool {} of {} nodes, {} of {} cap slots in use, {} RAM blocks",
        pool.nodes_in_use(),
        pool.capacity(),
        run.core.ours.placer.caps.capacity() - run.core.ours.placer.caps.free_slots(),
        run.core.ours.placer.caps.capacity(),
        run.core.ours.ram().len()
    );
    metadata_per_object(run);
    report("scale: alloc", SCALE_OBJECTS as u64, s0, s1, i0, i1, mhz);
    for h in handles.iter() {
        run.free(*h)?;
    }
    let (s2, i2) = (run.stats, run.invocations());
    report("scale: free", SCALE_OBJECTS as u64, s1, s2, i1, i2, mhz);
    println!("scale: {SCALE_OBJECTS} objects allocated and freed");
    largest_block(run, "scale: after free-all", Some(before))?;
    Ok(())
}
