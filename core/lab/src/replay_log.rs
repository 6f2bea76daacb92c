//! Per-operation log of a trace replay with core's strategy: one line per
//! trace operation (the object's address or the error, and the watermark of
//! the leaf untyped as the kernel reports it), plus one summary line. Both
//! figures are the kernel's answers, not core's bookkeeping: a frame's
//! address is what the kernel says the frame cap names
//! (`X86_Page_GetAddress`; the model's object on the host), and for any other
//! object the leaf's watermark (its size when the object fills it) is what
//! places the object at the leaf's base, the address core chose.
//!
//! The root task replays a trace against the real kernel and prints these
//! lines; the host replays the same trace against the kernel model on the
//! same untyped layout and produces them with the same code, so the two can
//! be compared operation by operation.
//!
//! ```text
//! op 12 alloc 0x1234000 wm 0x1000     object at 0x1234000; its leaf untyped is full (0x1000)
//! op 13 alloc err no-block            the allocator found no block
//! op 14 free wm 0x0                   freed; the leaf untyped has no children left
//! summary strategy=ours ops=... allocs=... (the host replay's field names)
//! ```

use core::fmt;

use crate::replay::{self, object_bytes, AfterFreeAll, Live, Stats};
use crate::strategy::{AllocFailure, Strategy};
use crate::trace::{self, IdTable, Op, TraceError};
use sel4_core::cap_space::CapEntry;
use sel4_core::kernel::{Counting, Kernel, Slot, UntypedDesc};
use sel4_core::phys_allocator::PhysAllocator;
use sel4_core::range_allocator::{RangeNode, Slab};
use sel4_core::untyped_pool::PoolNode;

/// A question to the kernel, outside the counted invocations.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The watermark of the untyped in `untyped`, of 2^`bits` bytes.
    Watermark { untyped: Slot, bits: u8 },
    /// The physical address of the frame in `frame`.
    FrameAddress { frame: Slot },
}

/// What one operation did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Placed at `paddr` (for a frame, the kernel's answer; `u64::MAX` if it gave none);
    /// `watermark` of the leaf untyped it came from (`None`: not asked).
    Placed {
        paddr: u64,
        watermark: Option<u64>,
    },
    Failed(AllocFailure),
    /// Freed; the leaf's watermark afterwards.
    Freed {
        watermark: Option<u64>,
    },
    FreeFailed,
    /// A free of an id whose allocation did not happen.
    Skipped,
}

/// One log line: the operation's 1-based index in the trace and its outcome.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub op: u64,
    pub outcome: Outcome,
}

struct Wm(Option<u64>);

impl fmt::Display for Wm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(w) => write!(f, "{w:#x}"),
            None => write!(f, "-"),
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.op;
        match self.outcome {
            Outcome::Placed { paddr, watermark } => write!(f, "op {n} alloc {paddr:#x} wm {}", Wm(watermark)),
            Outcome::Failed(e) => {
                write!(f, "op {n} alloc err ")?;
                match e {
                    AllocFailure::NoBlock => write!(f, "no-block"),
                    AllocFailure::Refused(k) => write!(f, "refused-{}", k.code()),
                    AllocFailure::Capacity(_) => write!(f, "capacity"),
                    AllocFailure::Invalid(k) => write!(f, "invalid-{}", k.code()),
                    AllocFailure::Disagreement => write!(f, "disagreement"),
                    AllocFailure::Elsewhere { paddr } => write!(f, "elsewhere-{paddr:#x}"),
                }
            }
            Outcome::Freed { watermark } => write!(f, "op {n} free wm {}", Wm(watermark)),
            Outcome::FreeFailed => write!(f, "op {n} free err"),
            Outcome::Skipped => write!(f, "op {n} free skipped"),
        }
    }
}

/// Replays `text` with core's strategy against `kernel`, calling `line` for every operation.
/// `probe(kernel, question)` asks the kernel a [`Probe`]: the watermark of a leaf, the address
/// of a frame; its invocations are not counted in the returned statistics. `clock`
/// measures the operations (not the watermark questions). Live objects stay in `table`.
#[allow(clippy::too_many_arguments)]
pub fn run<'a, K: Kernel, R, P, C>(
    text: &'a str,
    boot: &[UntypedDesc],
    ours: &mut PhysAllocator<'_, R, P, C>,
    kernel: &mut K,
    table: &mut IdTable<'_, 'a, Live>,
    mut probe: impl FnMut(&mut K, Probe) -> Option<u64>,
    mut clock: impl FnMut() -> u64,
    mut line: impl FnMut(&Line),
) -> Result<Stats, TraceError<'a>>
where
    R: Slab<RangeNode>,
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
    C: AsRef<[CapEntry]> + AsMut<[CapEntry]>,
{
    let mut k = Counting::new(&mut *kernel);
    let mut st = Stats::default();
    let leaf_wm = |ours: &PhysAllocator<'_, R, P, C>,
                   k: &mut Counting<&mut K>,
                   probe: &mut dyn FnMut(&mut K, Probe) -> Option<u64>,
                   node| {
        let n = ours.placer.pool.info(node);
        probe(&mut *k.inner, Probe::Watermark { untyped: n.slot, bits: n.bits })
    };
    for item in trace::ops(text) {
        let (ln, op) = item?;
        st.ops += 1;
        let n = st.ops;
        match op {
            Op::Alloc { id, ty, size_bits, addr } => {
                // As in `replay::run`: a bad id stops the replay before anything is allocated.
                replay::precheck(table, ln, id)?;
                let t0 = clock();
                let r =
                    replay::answer(boot, ty, size_bits, addr, || Strategy::alloc(ours, &mut k, ty, size_bits, addr));
                st.elapsed += clock().saturating_sub(t0);
                let live = st.record_alloc(n, ln, addr, object_bytes(ty, size_bits), &r);
                let outcome = match r {
                    Ok(p) => Outcome::Placed {
                        paddr: if ty.is_frame() {
                            probe(&mut *k.inner, Probe::FrameAddress { frame: p.slot }).unwrap_or(u64::MAX)
                        } else {
                            p.paddr
                        },
                        watermark: ours.node_of(p.handle).and_then(|node| leaf_wm(ours, &mut k, &mut probe, node)),
                    },
                    Err(f) => Outcome::Failed(f),
                };
                line(&Line { op: n, outcome });
                trace::track(table, ln, &op, live)?;
            }
            Op::Free { .. } => {
                let outcome = match trace::track(table, ln, &op, Live::GONE)? {
                    Some(Live { handle: Some(h), bytes, .. }) => {
                        let node = ours.node_of(h);
                        let t0 = clock();
                        let r = ours.free(&mut k, h);
                        st.elapsed += clock().saturating_sub(t0);
                        st.record_free(r.is_ok(), bytes);
                        match r {
                            Ok(()) => Outcome::Freed {
                                watermark: node.and_then(|node| leaf_wm(ours, &mut k, &mut probe, node)),
                            },
                            Err(_) => Outcome::FreeFailed,
                        }
                    }
                    _ => {
                        st.skipped_frees += 1;
                        Outcome::Skipped
                    }
                };
                line(&Line { op: n, outcome });
            }
        }
    }
    st.invocations = k.counts;
    Ok(st)
}

/// The summary line: the host replay's field names (`trace replay --json`) and values.
pub struct Summary<'s> {
    pub stats: &'s Stats,
    pub after: &'s AfterFreeAll,
    pub total_ram_bytes: u64,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.stats;
        let opt = |v: Option<u64>| v.map_or(-1i128, i128::from);
        write!(
            f,
            "summary strategy=ours ops={} allocs={} frees={} refused={} failed={} capacity={} invalid={} \
             disagreements={} first_failure_op={} live_bytes_at_first_failure={} retypes={} deletes={} revokes={} \
             invocations_per_op={:.4} largest_block_after_free_all={} total_ram_bytes={}",
            s.ops,
            s.allocs,
            s.frees,
            s.refused,
            s.failed,
            s.capacity,
            s.invalid,
            s.disagreements,
            opt(s.first_failure_op),
            opt(s.live_bytes_at_first_failure),
            s.invocations.retypes,
            s.invocations.deletes,
            s.invocations.revokes,
            s.invocations_per_op(),
            self.after.largest_verified,
            self.total_ram_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::replay;
    use crate::rig::{Options, Rig};
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    fn replay_lines(text: &str) -> (Vec<String>, String) {
        let boot = [UntypedDesc { slot: Slot(1), paddr: 0x10_0000, size_bits: 16, is_device: false }];
        let mut rig = Rig::new(&boot, Options { object_slots: 200, range_blocks: 64, spare_slots: 0 }).unwrap();
        let (model, mut ours) = rig.ours().unwrap();
        let mut st = vec![None; 64];
        let mut table = IdTable::new(&mut st);
        let mut lines = Vec::new();
        let stats = run(
            text,
            &boot,
            &mut ours,
            model,
            &mut table,
            |m, q| match q {
                Probe::Watermark { untyped, .. } => m.watermark(untyped),
                Probe::FrameAddress { frame } => m.object_at(frame).map(|o| o.1),
            },
            || 0,
            |l| lines.push(l.to_string()),
        )
        .unwrap();
        let after = replay::free_all(&mut ours, model, &mut table);
        (lines, Summary { stats: &stats, after: &after, total_ram_bytes: 1 << 16 }.to_string())
    }

    #[test]
    fn lines_follow_the_model() {
        let (lines, summary) = replay_lines(
            "alloc a cnode 5 0x100000\nalloc b cnode 6 0x100800\nalloc c frame_4k 0 0x101000\n\
             alloc d cnode 5 0x100400\nalloc e endpoint 0 0x100400\nfree d\nfree e\nalloc f untyped 20\n",
        );
        assert_eq!(
            lines,
            [
                "op 1 alloc 0x100000 wm 0x400",
                "op 2 alloc 0x100800 wm 0x800",
                "op 3 alloc 0x101000 wm 0x1000",
                "op 4 alloc 0x100400 wm 0x400",
                "op 5 alloc err no-block",
                "op 6 free wm 0x0",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain(["op 7 free skipped".to_string(), "op 8 alloc err no-block".to_string()])
            .collect::<Vec<_>>()
        );
        assert!(summary.starts_with("summary strategy=ours ops=8 allocs=4 frees=1 refused=0 failed=2 "), "{summary}");
        assert!(summary.contains(" first_failure_op=5 live_bytes_at_first_failure=8192 "), "{summary}");
        assert!(summary.ends_with(" largest_block_after_free_all=65536 total_ram_bytes=65536"), "{summary}");
    }

    #[test]
    fn a_duplicate_id_stops_before_anything_is_allocated() {
        let boot = [UntypedDesc { slot: Slot(1), paddr: 0x10_0000, size_bits: 16, is_device: false }];
        let mut rig = Rig::new(&boot, Options { object_slots: 200, range_blocks: 64, spare_slots: 0 }).unwrap();
        let (model, mut ours) = rig.ours().unwrap();
        let mut st = vec![None; 64];
        let mut table = IdTable::new(&mut st);
        let text = "alloc a endpoint 0\nalloc a endpoint 0\n";
        let err = run(text, &boot, &mut ours, model, &mut table, |_, _| None, || 0, |_| {}).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(matches!(err.kind, trace::ErrorKind::DuplicateId("a")), "{err:?}");
        assert_eq!(ours.ram().avail(), (1 << 16) - 16, "only the first endpoint is allocated");
    }
}
