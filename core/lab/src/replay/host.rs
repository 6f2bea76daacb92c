//! Host-side replay setup (needs std): builds a fresh kernel model and one
//! strategy from an untyped layout with heap storage, replays a trace, frees
//! everything and measures wall time. Used by the run tool, the benchmarks
//! and the tests.

extern crate std;

use std::boxed::Box;
use std::string::{String, ToString};
use std::time::Instant;
use std::vec;
use std::vec::Vec;

use crate::baselines::buddy::Buddy;
use crate::baselines::freeindex::FreeIndexOnly;
use crate::baselines::genode::{pages_needed, GenodePages};
use crate::baselines::roots::Root;
use crate::baselines::slab::Entry;
use crate::replay::{self, AfterFreeAll, Ideal, IdealStats, Live, Stats};
use crate::rig::{self, first_free, Rig};
use crate::strategy::Strategy;
use crate::trace::{self, IdTable, Summary};
use sel4_core::cap_space::{CapEntry, CapSpace};
use sel4_core::kernel::{InvocationCounts, Slot, UntypedDesc};
use sel4_core::range_allocator::ArrayRangeAllocator;
use sel4_kernel_model::{KernelModel, ModelSlot};

/// Blocks each range allocator can hold (free and used).
pub const RANGE_NODES: usize = 1 << 16;
type Ranges = ArrayRangeAllocator<RANGE_NODES>;

/// The baselines this harness can build besides core's own (`ours`), in
/// report order.
pub const BASELINES: [&str; 3] = ["freeindex", "buddy", "genode"];

/// Sizes of the fixed structures (defaults fit the shipped traces and a
/// 10^6-operation churn on the default layout).
#[derive(Copy, Clone, Debug)]
pub struct Options {
    /// CSpace slots for objects and split untypeds (beyond boot slots and
    /// Genode's page slots).
    pub object_slots: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { object_slots: 1 << 18 }
    }
}

/// Everything measured for one strategy on one trace.
#[derive(Clone, Debug)]
pub struct Report {
    pub strategy: &'static str,
    pub stats: Stats,
    pub after: AfterFreeAll,
    pub total_ram_bytes: u64,
    /// Invocations a strategy made before the trace started (e.g. Genode's
    /// conversion of all memory into pages).
    pub setup: InvocationCounts,
    pub ns_per_op: f64,
    /// Objects live at the end of the trace whose cap in the kernel model
    /// is not an object at the address the strategy reported (must be 0).
    pub kernel_mismatches: u64,
}

/// Bytes of RAM (non-device untypeds).
pub fn total_ram(boot: &[UntypedDesc]) -> u64 {
    boot.iter().filter(|u| !u.is_device).map(|u| 1u64 << u.size_bits).sum()
}

/// Check the whole trace first so a malformed line is reported before
/// anything runs; returns its summary.
pub fn check(text: &str) -> Result<Summary, String> {
    let mut st = vec![None; 1 << 16];
    let mut s = trace::validate(text, &mut st);
    if let Err(trace::TraceError { kind: trace::ErrorKind::TooManyLiveIds { .. }, .. }) = s {
        let mut big = vec![None; 1 << 24];
        s = trace::validate(text, &mut big);
    }
    s.map_err(|e| e.to_string())
}

fn table_len(summary: &Summary) -> usize {
    (summary.max_live + 1) * 2 + 16
}

fn ranges() -> (Box<Ranges>, Box<Ranges>) {
    (Ranges::new_boxed(), Ranges::new_boxed())
}

/// The ideal allocator on `text` (the plain range allocator with the
/// untypeds' boundaries).
pub fn ideal(text: &str, boot: &[UntypedDesc], summary: &Summary) -> Result<IdealStats, String> {
    let (mut ram, mut device) = ranges();
    let mut ideal = Ideal { ram: &mut ram, device: &mut device };
    for u in boot {
        ideal.add_untyped(u.paddr, u.size_bits, u.is_device).map_err(|e| std::format!("ideal setup: {e}"))?;
    }
    let mut st = vec![None; table_len(summary)];
    let mut table = IdTable::new(&mut st);
    replay::run_ideal(text, boot, &mut ideal, &mut table).map_err(|e| e.to_string())
}

fn drive<S: Strategy>(
    boot: &[UntypedDesc],
    s: &mut S,
    k: &mut KernelModel<Vec<ModelSlot>>,
    text: &str,
    summary: &Summary,
) -> Result<(Stats, AfterFreeAll, u64), String> {
    let mut st: Vec<trace::IdEntry<'_, Live>> = vec![None; table_len(summary)];
    let mut table = IdTable::new(&mut st);
    let t0 = Instant::now();
    let stats =
        replay::run(text, boot, s, k, &mut table, || t0.elapsed().as_nanos() as u64).map_err(|e| e.to_string())?;
    if stats.disagreements > 0 {
        return Err(std::format!(
            "{}: {} allocations contradicted the strategy's own bookkeeping (a bug in the strategy)",
            s.name(),
            stats.disagreements
        ));
    }
    let mismatches = table
        .iter()
        .filter_map(|(_, l)| l.handle.map(|_| l))
        .filter(|l| k.object_at(l.slot).map(|(_, paddr, _)| paddr) != Some(l.paddr))
        .count() as u64;
    let after = replay::free_all(s, k, &mut table);
    Ok((stats, after, mismatches))
}

/// Replay `text` with the strategy called `name` on a fresh kernel model
/// of `boot`.
pub fn replay(name: &str, text: &str, boot: &[UntypedDesc], opts: Options) -> Result<Report, String> {
    let summary = check(text)?;
    if name == "ours" {
        let mut rig = Rig::new(
            boot,
            rig::Options { object_slots: opts.object_slots, range_blocks: RANGE_NODES, spare_slots: 0 },
        )?;
        let (k, mut s) = rig.ours()?;
        let (stats, after, kernel_mismatches) = drive(boot, &mut s, k, text, &summary)?;
        return Ok(report("ours", stats, after, boot, InvocationCounts::default(), kernel_mismatches));
    }
    let ff = first_free(boot);
    let pages = if name == "genode" { pages_needed(boot) } else { 0 };
    let pages = u32::try_from(pages).map_err(|_| "too many pages".to_string())?;
    let obj_first = ff + pages;
    let n_slots = obj_first as usize + opts.object_slots as usize;
    let mut k = KernelModel::new(vec![ModelSlot::EMPTY; n_slots], boot, Slot(ff))
        .map_err(|e| std::format!("kernel model: {e:?}"))?;
    let mut cap_store = vec![CapEntry::EMPTY; opts.object_slots as usize];
    let mut root_store = vec![Root::EMPTY; boot.len()];
    let n_objs = opts.object_slots as usize;
    let (mut ram, mut device) = ranges();
    let (stats, after, kernel_mismatches, setup, strategy) = match name {
        "freeindex" => {
            let caps =
                CapSpace::new(&mut cap_store[..], Slot(obj_first)).map_err(|e| std::format!("cap space: {e}"))?;
            let mut objs = vec![Entry::EMPTY; n_objs];
            let mut s = FreeIndexOnly::new(&mut ram, &mut device, &mut root_store, boot, caps, &mut objs)
                .map_err(|e| std::format!("freeindex setup: {e:?}"))?;
            let (a, b, m) = drive(boot, &mut s, &mut k, text, &summary)?;
            (a, b, m, InvocationCounts::default(), "freeindex")
        }
        "buddy" => {
            let caps =
                CapSpace::new(&mut cap_store[..], Slot(obj_first)).map_err(|e| std::format!("cap space: {e}"))?;
            let mut nodes = vec![Entry::EMPTY; n_objs + boot.len()];
            let mut s = Buddy::new(boot, caps, &mut nodes).map_err(|e| std::format!("buddy setup: {e:?}"))?;
            let (a, b, m) = drive(boot, &mut s, &mut k, text, &summary)?;
            (a, b, m, InvocationCounts::default(), "buddy")
        }
        "genode" => {
            let caps =
                CapSpace::new(&mut cap_store[..], Slot(obj_first)).map_err(|e| std::format!("cap space: {e}"))?;
            let mut objs = vec![Entry::EMPTY; n_objs];
            let mut base = vec![0u32; boot.len()];
            let mut s = GenodePages::new(
                &mut k,
                &mut ram,
                &mut device,
                &mut root_store,
                &mut base,
                boot,
                Slot(ff),
                caps,
                &mut objs,
            )
            .map_err(|e| std::format!("genode setup: {e:?}"))?;
            let setup = InvocationCounts { retypes: s.setup_retypes, ..Default::default() };
            let (a, b, m) = drive(boot, &mut s, &mut k, text, &summary)?;
            (a, b, m, setup, "genode")
        }
        other => return Err(std::format!("unknown strategy `{other}`")),
    };
    Ok(report(strategy, stats, after, boot, setup, kernel_mismatches))
}

fn report(
    strategy: &'static str,
    stats: Stats,
    after: AfterFreeAll,
    boot: &[UntypedDesc],
    setup: InvocationCounts,
    kernel_mismatches: u64,
) -> Report {
    let ns_per_op = if stats.ops == 0 { 0.0 } else { stats.elapsed as f64 / stats.ops as f64 };
    Report { strategy, stats, after, total_ram_bytes: total_ram(boot), setup, ns_per_op, kernel_mismatches }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "alloc c1 cnode 5 0x0\nalloc c2 cnode 6 0x800\nalloc p frame_4k 0 0x1000\nalloc c3 cnode 5\n";

    fn seed_layout() -> [UntypedDesc; 1] {
        [UntypedDesc { slot: Slot(12), paddr: 0, size_bits: 13, is_device: false }]
    }

    #[test]
    fn freeindex_refuses_the_last_cnode_of_the_seed_case() {
        let r = replay("freeindex", SEED, &seed_layout(), Options { object_slots: 64 }).unwrap();
        assert_eq!((r.stats.allocs, r.stats.refused, r.stats.failed), (3, 1, 0));
        assert_eq!(r.stats.first_failure_op, Some(4));
        assert_eq!(r.stats.live_bytes_at_first_failure, Some(0x400 + 0x800 + 0x1000));
        // Once everything is freed the untyped resets: all 8 KiB again.
        assert_eq!(r.after.largest_verified, 0x2000);
    }

    #[test]
    fn ours_places_all_of_the_seed_case() {
        let r = replay("ours", SEED, &seed_layout(), Options { object_slots: 64 }).unwrap();
        assert_eq!((r.stats.allocs, r.stats.refused, r.stats.failed, r.stats.misplaced), (4, 0, 0, 0));
        assert_eq!(r.kernel_mismatches, 0);
        assert_eq!(r.after.largest_verified, 0x2000);
    }

    #[test]
    fn ideal_places_all_of_the_seed_case() {
        let s = check(SEED).unwrap();
        let i = ideal(SEED, &seed_layout(), &s).unwrap();
        assert_eq!((i.allocs, i.failed, i.first_failure_op), (4, 0, None));
        assert_eq!(i.largest_after_free_all, 0x2000);
    }

    #[test]
    fn buddy_places_the_seed_case_by_splitting() {
        let r = replay("buddy", SEED, &seed_layout(), Options { object_slots: 64 }).unwrap();
        assert_eq!((r.stats.allocs, r.stats.refused, r.stats.failed, r.stats.misplaced), (4, 0, 0, 0));
        // 8K -> 4K+4K, 4K -> 2K+2K, 2K -> 1K+1K: 6 split retypes + 4 objects.
        assert_eq!(r.stats.invocations.retypes, 10);
        assert_eq!(r.after.largest_verified, 0x2000);
    }

    #[test]
    fn genode_gives_each_object_a_page() {
        let r = replay("genode", SEED, &seed_layout(), Options { object_slots: 64 }).unwrap();
        // 0x0 and 0x1000 are pages; a CNode at 0x800 is not page aligned.
        assert_eq!((r.stats.allocs, r.stats.failed), (2, 2));
        assert_eq!(r.stats.first_failure_op, Some(2));
        assert_eq!(r.setup.retypes, 1);
        assert_eq!(r.after.largest_verified, 0x1000);
    }

    #[test]
    fn objects_land_where_each_strategy_says_and_memory_comes_back() {
        // Churn on a small layout, several seeds: every object still live at
        // the end must be in the kernel model at the address the strategy
        // reported, no free may fail, and once everything is freed the
        // largest root is allocatable again (Genode: one page).
        let boot = [
            UntypedDesc { slot: Slot(12), paddr: 0x100000, size_bits: 20, is_device: false },
            UntypedDesc { slot: Slot(13), paddr: 0x400000, size_bits: 22, is_device: false },
            UntypedDesc { slot: Slot(14), paddr: 0x1000_0000, size_bits: 21, is_device: true },
        ];
        for seed in 1..=4 {
            let mut text = String::new();
            let mut live = vec![0u64; 256];
            trace::gen::churn(&mut text, 600, seed, 40, &mut live).unwrap();
            for name in ["ours"].into_iter().chain(BASELINES) {
                let r = replay(name, &text, &boot, Options { object_slots: 1 << 14 }).unwrap();
                let what = std::format!("{name}, seed {seed}");
                assert_eq!(r.stats.misplaced, 0, "{what}");
                assert_eq!(r.kernel_mismatches, 0, "{what}");
                assert_eq!(r.stats.free_errors + r.after.free_errors, 0, "{what}");
                assert!(r.stats.allocs > 0, "{what}");
                let want = if name == "genode" { 0x1000 } else { 1 << 22 };
                assert_eq!(r.after.largest_verified, want, "{what}");
                assert_eq!(r.after.largest_reported, want, "{what}");
            }
        }
    }

    #[test]
    fn device_memory_holds_frames_at_an_address_only() {
        let boot = [
            UntypedDesc { slot: Slot(12), paddr: 0x100000, size_bits: 20, is_device: false },
            UntypedDesc { slot: Slot(13), paddr: 0x1000_0000, size_bits: 21, is_device: true },
        ];
        let text = "alloc d frame_4k 0 0x10003000\nalloc t tcb 0 0x10008000\nfree d\nalloc e frame_4k 0 0x10003000\n";
        for name in ["ours"].into_iter().chain(BASELINES) {
            let r = replay(name, text, &boot, Options { object_slots: 256 }).unwrap();
            // Plain FreeIndex placement puts the first object of the fresh
            // device untyped at its base, not at +0x3000: created elsewhere, not refused.
            let (allocs, elsewhere) = if name == "freeindex" { (0, 2) } else { (2, 0) };
            assert_eq!((r.stats.allocs, r.stats.elsewhere, r.stats.refused), (allocs, elsewhere, 0), "{name}");
            assert_eq!((r.stats.failed, r.stats.invalid), (0, 1), "{name}: no TCB in device memory");
            assert_eq!(r.kernel_mismatches, 0, "{name}");
        }
    }

    #[test]
    fn malformed_trace_is_an_error_naming_the_line() {
        let e = replay("buddy", "alloc a tcb 0\nfree b\n", &seed_layout(), Options { object_slots: 8 }).unwrap_err();
        assert_eq!(e, "line 2: free of id `b` that is not live");
        assert!(replay("nope", "", &seed_layout(), Options::default()).unwrap_err().contains("unknown strategy"));
    }
}
