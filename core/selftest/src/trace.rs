//! Trace replay on the real kernel: the trace embedded at build time
//! (`CORE_TRACE`, see `build.rs`) runs through core's strategy, and core
//! prints one line per operation with the kernel's watermark of the leaf
//! untyped (`sel4_core_lab::replay_log`), then the summary with the host
//! replay's field names. The run tool replays the same trace on the host
//! model with the untyped layout core printed and compares the lines.

use sel4::BootInfo;
use sel4_core::cap_space::CapEntry;
use sel4_core::phys_allocator::Storage;
use sel4_core::range_allocator::RangeNode;
use sel4_core::root::kernel::LEVEL2_BITS;
use sel4_core::root::state::{first_managed_slot, Metadata, MAX_BOOT_UNTYPEDS};
use sel4_core::static_slab::StaticSlab;
use sel4_core::untyped_pool::PoolNode;

use sel4_core_lab::replay::{self, Live};
use sel4_core_lab::replay_log::{self, Probe, Summary};
use sel4_core_lab::trace::{IdEntry, IdTable};
use sel4_root_task::println;

use sel4_core::root::audit::Audit;
use sel4_core::root::error::Error;
use sel4_core::root::runner::{rdtsc, Runner};

/// Range blocks per allocator, pool nodes and cap slots (the boot CNode's) of the replay: the
/// host replay the run tool compares with has the same (`run`'s trace agreement).
const RANGE_BLOCKS: usize = 1 << 17;
const POOL_NODES: usize = 2 * (1 << 16) + MAX_BOOT_UNTYPEDS;
const ROOT_SLOTS: usize = 1 << LEVEL2_BITS;

static RAM: StaticSlab<RangeNode, RANGE_BLOCKS> = StaticSlab::new();
static DEVICE: StaticSlab<RangeNode, RANGE_BLOCKS> = StaticSlab::new();
static POOL: StaticSlab<PoolNode, POOL_NODES> = StaticSlab::new();
static CAPS: StaticSlab<CapEntry, ROOT_SLOTS> = StaticSlab::new();

/// The replay's metadata: fixed, in this image, with the cap slots the boot CNode has left.
pub fn storage(bi: &BootInfo) -> Result<Metadata, Error> {
    let taken = Error::Failed("trace: its storage is taken");
    let caps = CAPS.take(CapEntry::EMPTY).ok_or(taken)?;
    let free = ROOT_SLOTS.saturating_sub(first_managed_slot(bi) as usize);
    let (caps, _) = caps.split_at_mut(free);
    Ok(Metadata::Static(Storage {
        ram: RAM.take(RangeNode::ZERO).ok_or(Error::Failed("trace: its storage is taken"))?,
        device: DEVICE.take(RangeNode::ZERO).ok_or(Error::Failed("trace: its storage is taken"))?,
        pool: POOL.take(PoolNode::EMPTY).ok_or(Error::Failed("trace: its storage is taken"))?,
        caps,
    }))
}

/// The embedded trace (empty without `CORE_TRACE`).
static TRACE: &str = include_str!(concat!(env!("OUT_DIR"), "/core.trace"));

/// Live ids the replay can track (the table keeps 1/8 free for short probes).
const LIVE_IDS: usize = 1 << 15;
static TABLE: StaticSlab<IdEntry<'static, Live>, LIVE_IDS> = StaticSlab::new();

pub fn replay(run: &mut Runner) -> Result<(), Error> {
    if TRACE.is_empty() {
        println!("trace: no trace in this image (the run tool embeds one with `boot trace --trace FILE`)");
        return Err(Error::Failed("no trace embedded"));
    }
    println!(
        "trace: {} bytes, {} lines; replaying with core's strategy on the kernel",
        TRACE.len(),
        TRACE.lines().count()
    );
    let storage = TABLE.take(None).ok_or(Error::Failed("trace: replays once (its id table is taken)"))?;
    let mut table = IdTable::new(storage);
    let probe = match run.audit.as_ref() {
        Some(a) => a.probe,
        None => Audit::new(&mut run.core)?.probe,
    };
    let core = &mut run.core;
    let stats = replay_log::run(
        TRACE,
        &core.boot,
        &mut core.ours,
        &mut core.kernel,
        &mut table,
        |k, question| match question {
            Probe::Watermark { untyped, bits } => k.inner.watermark(untyped, bits, probe).ok(),
            Probe::FrameAddress { frame } => k.inner.frame_address(frame).ok(),
        },
        rdtsc,
        |line| println!("{line}"),
    )
    .map_err(|e| {
        println!("trace: {e}");
        Error::Failed("malformed trace")
    })?;
    let after = replay::free_all(&mut core.ours, &mut core.kernel, &mut table);
    if stats.disagreements > 0 {
        println!("trace: {} allocations contradicted core's own bookkeeping", stats.disagreements);
        return Err(Error::Failed("trace: core's range allocator and untyped pool disagree"));
    }
    let total_ram: u64 = core.boot.iter().filter(|u| !u.is_device).map(|u| 1u64 << u.size_bits).sum();
    println!("{}", Summary { stats: &stats, after: &after, total_ram_bytes: total_ram });
    println!(
        "trace: {} ops, {} cycles per op (TSC, operations only), {:.3} invocations per op",
        stats.ops,
        stats.elapsed / stats.ops.max(1),
        stats.invocations_per_op()
    );
    Ok(())
}
