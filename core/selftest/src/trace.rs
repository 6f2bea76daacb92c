//! Trace replay on the real kernel: the trace embedded at build time
//! (`CORE_TRACE`, see `build.rs`) runs through core's strategy, and core
//! prints one line per operation with the kernel's watermark of the leaf
//! untyped (`sel4_core_lab::replay_log`), then the summary with the host
//! replay's field names. The run tool replays the same trace on the host
//! model with the untyped layout core printed and compares the lines.

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};

use sel4_core_lab::replay::{self, Live};
use sel4_core_lab::replay_log::{self, Summary};
use sel4_core_lab::trace::{IdEntry, IdTable};
use sel4_root_task::println;

use sel4_core::root::audit::Audit;
use sel4_core::root::error::Error;
use sel4_core::root::runner::{rdtsc, Runner};

/// The embedded trace (empty without `CORE_TRACE`).
static TRACE: &str = include_str!(concat!(env!("OUT_DIR"), "/core.trace"));

/// Live ids the replay can track (the table keeps 1/8 free for short probes).
const LIVE_IDS: usize = 1 << 15;
static mut TABLE: MaybeUninit<[IdEntry<'static, Live>; LIVE_IDS]> = MaybeUninit::uninit();
static TABLE_TAKEN: AtomicBool = AtomicBool::new(false);

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
    if TABLE_TAKEN.swap(true, Ordering::AcqRel) {
        return Err(Error::Failed("trace: replays once (its id table is taken)"));
    }
    // SAFETY: TABLE_TAKEN was false, so this is the only reference to TABLE ever made.
    let storage = unsafe {
        let p = addr_of_mut!(TABLE) as *mut IdEntry<'static, Live>;
        for i in 0..LIVE_IDS {
            p.add(i).write(None);
        }
        core::slice::from_raw_parts_mut(p, LIVE_IDS)
    };
    let mut table = IdTable::new(storage);
    let probe = match run.audit.as_ref() {
        Some(a) => a.probe,
        None => Audit::new(&mut run.core)?.probe,
    };
    let core = &mut run.core;
    let stats = replay_log::run(
        TRACE,
        &mut core.ours,
        &mut core.kernel,
        &mut table,
        |k, slot, bits| k.inner.watermark(slot, bits, probe).ok(),
        rdtsc,
        |line| println!("{line}"),
    )
    .map_err(|e| {
        println!("trace: {e}");
        Error::Failed("malformed trace")
    })?;
    let after = replay::free_all(&mut core.ours, &mut core.kernel, &mut table);
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
