//! Trace replay: drives a [`Strategy`] through a trace against a [`Kernel`]
//! and counts what happened, and runs the same trace through an ideal
//! allocator (the plain range allocator, no kernel constraints) for
//! comparison. no_std and allocation-free: the caller provides the live-id
//! table storage and a clock, so the same driver runs on the host and inside
//! the root task.

use crate::strategy::{AllocFailure, ObjectId, Placed, Strategy};
use crate::trace::{self, IdTable, Op, TraceError};
use sel4_core::kernel::{Counting, InvocationCounts, Kernel, KernelError, Slot, UntypedDesc};
use sel4_core::object::{ObjectType, MAX_UNTYPED_BITS};
use sel4_core::range_allocator::{ArrayRangeAllocator, RangeError};

#[cfg(any(test, feature = "std"))]
pub mod host;

/// A live trace id: the strategy's handle (`None` when the allocation did
/// not happen, so its `free` is skipped), the object's size, and where the
/// strategy says it is (cap slot and physical address).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Live {
    pub handle: Option<ObjectId>,
    pub bytes: u64,
    pub slot: Slot,
    pub paddr: u64,
}

impl Live {
    /// An id with no object behind it (its allocation did not happen).
    pub const GONE: Live = Live { handle: None, bytes: 0, slot: Slot(0), paddr: 0 };
}

/// What one strategy did on one trace.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Operations in the trace (allocs + frees, including skipped frees).
    pub ops: u64,
    /// Successful allocations.
    pub allocs: u64,
    /// Successful frees.
    pub frees: u64,
    /// The allocator chose an address and the kernel refused to create the object there
    /// (an error reply).
    pub refused: u64,
    /// The allocator found no block.
    pub failed: u64,
    /// The kernel created the object, but not where the allocator chose (deleted again).
    pub elsewhere: u64,
    /// A fixed capacity of the strategy ran out.
    pub capacity: u64,
    /// Requests the strategy rejects as invalid (e.g. a type it cannot
    /// create, or a kernel object in device memory).
    pub invalid: u64,
    /// Allocations a strategy's own bookkeeping contradicted (e.g. core's range allocator chose
    /// a block its untyped pool cannot use): a bug, never a kernel refusal; fails the replay.
    pub disagreements: u64,
    /// Frees of ids whose allocation did not happen.
    pub skipped_frees: u64,
    /// Frees the strategy or the kernel refused (should be 0).
    pub free_errors: u64,
    /// Objects not at the address the trace asked for (should be 0: a
    /// strategy must refuse rather than place elsewhere).
    pub misplaced: u64,
    /// 1-based index of the first operation that refused or failed
    /// (including capacity), and its trace line.
    pub first_failure_op: Option<u64>,
    pub first_failure_line: Option<usize>,
    /// Bytes of live objects when the first failure happened.
    pub live_bytes_at_first_failure: Option<u64>,
    pub live_bytes: u64,
    pub peak_live_bytes: u64,
    /// Kernel invocations during the trace's operations (not the final
    /// free-all and check).
    pub invocations: InvocationCounts,
    /// Clock ticks (caller's unit, ns on the host) spent in the trace's
    /// operations.
    pub elapsed: u64,
}

impl Stats {
    pub fn invocations_per_op(&self) -> f64 {
        if self.ops == 0 {
            0.0
        } else {
            self.invocations.total() as f64 / self.ops as f64
        }
    }

    fn note_failure(&mut self, op: u64, line: usize) {
        if self.first_failure_op.is_none() {
            self.first_failure_op = Some(op);
            self.first_failure_line = Some(line);
            self.live_bytes_at_first_failure = Some(self.live_bytes);
        }
    }

    /// Counts the outcome of operation `op` (trace line `line`), an allocation of `bytes` that
    /// asked for `asked`, and returns what the live-id table keeps for its id. `r` is what the
    /// strategy answered, or, for a request [`invalid_request`] refuses (which no strategy
    /// sees), that refusal.
    pub(crate) fn record_alloc(
        &mut self,
        op: u64,
        line: usize,
        asked: Option<u64>,
        bytes: u64,
        r: &Result<Placed, AllocFailure>,
    ) -> Live {
        match r {
            Ok(p) => {
                if asked.is_some_and(|a| a != p.paddr) {
                    self.misplaced += 1;
                }
                self.allocs += 1;
                self.live_bytes += bytes;
                self.peak_live_bytes = self.peak_live_bytes.max(self.live_bytes);
                Live { handle: Some(p.handle), bytes, slot: p.slot, paddr: p.paddr }
            }
            Err(f) => {
                match f {
                    AllocFailure::NoBlock => self.failed += 1,
                    AllocFailure::Refused(_) => self.refused += 1,
                    AllocFailure::Capacity(_) => self.capacity += 1,
                    AllocFailure::Invalid(_) => self.invalid += 1,
                    AllocFailure::Disagreement => self.disagreements += 1,
                    AllocFailure::Elsewhere { .. } => self.elsewhere += 1,
                }
                if !matches!(f, AllocFailure::Invalid(_) | AllocFailure::Disagreement) {
                    self.note_failure(op, line);
                }
                Live { bytes, ..Live::GONE }
            }
        }
    }

    /// Counts the outcome of freeing a live object of `bytes`.
    pub(crate) fn record_free(&mut self, freed: bool, bytes: u64) {
        if freed {
            self.frees += 1;
            self.live_bytes -= bytes;
        } else {
            self.free_errors += 1;
        }
    }
}

/// The one rule every strategy and the ideal allocator are held to: the kernel's own refusal of
/// a request, whichever allocator would choose the address. A request with bad size arguments,
/// an object larger than any untyped, an address not aligned to the object, or a kernel object
/// other than a frame or an untyped at an address in device memory (`decodeUntypedInvocation`)
/// is invalid. The replays count it as `invalid` without handing it to any strategy, so it is
/// never a first failure; a strategy that calls a valid request invalid contradicts this rule,
/// which counts as a disagreement.
pub fn invalid_request(boot: &[UntypedDesc], ty: ObjectType, size_bits: u8, addr: Option<u64>) -> Option<KernelError> {
    let bits = match ty.object_bits(size_bits) {
        Ok(b) => b,
        Err(e) => return Some(e),
    };
    if bits > MAX_UNTYPED_BITS {
        return Some(KernelError::NotEnoughMemory { bytes_available: 0 });
    }
    let a = addr?;
    if a & ((1u64 << bits) - 1) != 0 {
        return Some(KernelError::AlignmentError);
    }
    let in_device = boot.iter().any(|u| u.is_device && a >= u.paddr && a - u.paddr < 1u64 << u.size_bits);
    (in_device && !ty.allowed_from_device()).then_some(KernelError::InvalidArgument { which: 1 })
}

/// What a strategy's answer to a valid request counts as: a strategy that calls it invalid
/// disagrees with [`invalid_request`].
fn valid_answer(r: Result<Placed, AllocFailure>) -> Result<Placed, AllocFailure> {
    match r {
        Err(AllocFailure::Invalid(_)) => Err(AllocFailure::Disagreement),
        r => r,
    }
}

/// The answer to a request: [`invalid_request`]'s refusal, or what `alloc` says.
pub fn answer(
    boot: &[UntypedDesc],
    ty: ObjectType,
    size_bits: u8,
    addr: Option<u64>,
    alloc: impl FnOnce() -> Result<Placed, AllocFailure>,
) -> Result<Placed, AllocFailure> {
    match invalid_request(boot, ty, size_bits, addr) {
        Some(e) => Err(AllocFailure::Invalid(e)),
        None => valid_answer(alloc()),
    }
}

/// Size in bytes of an object of a trace line (size_bits already checked by
/// the parser).
pub fn object_bytes(ty: ObjectType, size_bits: u8) -> u64 {
    1u64 << trace::object_bits(ty, size_bits)
}

/// Replay `text` through `strategy` against `kernel`. `table` is the
/// live-id table (its capacity bounds the live set); `clock` returns a
/// monotonic time. Live objects stay live in `table` for [`free_all`].
/// A malformed trace stops the replay with the error; allocations that
/// cannot be satisfied are counted, not errors.
pub fn run<'a, K: Kernel, S: Strategy>(
    text: &'a str,
    boot: &[UntypedDesc],
    strategy: &mut S,
    kernel: &mut K,
    table: &mut IdTable<'_, 'a, Live>,
    mut clock: impl FnMut() -> u64,
) -> Result<Stats, TraceError<'a>> {
    let mut k = Counting::new(&mut *kernel);
    let mut st = Stats::default();
    let start = clock();
    for item in trace::ops(text) {
        let (line, op) = item?;
        st.ops += 1;
        match op {
            Op::Alloc { id, ty, size_bits, addr } => {
                // Check the id first, so a bad trace never leaves an object
                // the table does not know about.
                precheck(table, line, id)?;
                let r = answer(boot, ty, size_bits, addr, || strategy.alloc(&mut k, ty, size_bits, addr));
                let live = st.record_alloc(st.ops, line, addr, object_bytes(ty, size_bits), &r);
                trace::track(table, line, &op, live)?;
            }
            Op::Free { .. } => match trace::track(table, line, &op, Live::GONE)? {
                Some(Live { handle: Some(h), bytes, .. }) => {
                    let freed = strategy.free(&mut k, h).is_ok();
                    st.record_free(freed, bytes);
                }
                _ => st.skipped_frees += 1,
            },
        }
    }
    st.elapsed = clock().saturating_sub(start);
    st.invocations = k.counts;
    Ok(st)
}

/// The live-id rules of an `alloc`, checked before the allocation happens.
pub(crate) fn precheck<'a, V>(table: &IdTable<'_, 'a, V>, line: usize, id: &'a str) -> Result<(), TraceError<'a>> {
    let kind = if table.get(id).is_some() {
        trace::ErrorKind::DuplicateId(id)
    } else if table.len() >= table.capacity() {
        trace::ErrorKind::TooManyLiveIds { capacity: table.capacity() }
    } else {
        return Ok(());
    };
    Err(TraceError { line, kind })
}

/// Outcome of [`free_all`] and the largest-block check after it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AfterFreeAll {
    /// Objects freed / frees refused.
    pub freed: u64,
    pub free_errors: u64,
    /// What the strategy reports as its largest allocatable block.
    pub largest_reported: u64,
    /// The largest block replay itself allocated (as an untyped of the
    /// largest power of two not above the report) and freed again; 0 if
    /// that failed.
    pub largest_verified: u64,
}

/// Free every object still live in `table`, then ask the strategy for its
/// largest allocatable block and verify it by allocating an untyped of that
/// size through the strategy and freeing it.
pub fn free_all<K: Kernel, S: Strategy>(
    strategy: &mut S,
    kernel: &mut K,
    table: &mut IdTable<'_, '_, Live>,
) -> AfterFreeAll {
    let mut out = AfterFreeAll::default();
    table.drain(|_, live| {
        if let Some(h) = live.handle {
            match strategy.free(kernel, h) {
                Ok(()) => out.freed += 1,
                Err(_) => out.free_errors += 1,
            }
        }
    });
    out.largest_reported = strategy.largest_allocatable(kernel);
    if out.largest_reported >= 1 << sel4_core::object::MIN_UNTYPED_BITS {
        let bits = (63 - out.largest_reported.leading_zeros()) as u8;
        let bits = bits.min(sel4_core::object::MAX_UNTYPED_BITS);
        if let Ok(p) = strategy.alloc(kernel, ObjectType::Untyped, bits, None) {
            if strategy.free(kernel, p.handle).is_ok() {
                out.largest_verified = 1u64 << bits;
            }
        }
    }
    out
}

/// The ideal allocator's first failure on a trace.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct IdealStats {
    pub allocs: u64,
    pub failed: u64,
    /// Requests [`invalid_request`] refuses (not failures).
    pub invalid: u64,
    pub first_failure_op: Option<u64>,
    pub live_bytes_at_first_failure: Option<u64>,
    /// Largest free naturally aligned block after freeing everything.
    pub largest_after_free_all: u64,
}

/// The ideal allocator: RAM in one range allocator (for allocations the
/// allocator places), device memory in another (only reachable by address,
/// as with the kernel, where device untypeds only hold frames and
/// untypeds). A boundary at each untyped's edges keeps every block inside
/// one untyped, as the kernel requires, and nothing else is constrained.
pub struct Ideal<'r, const N: usize> {
    pub ram: &'r mut ArrayRangeAllocator<N>,
    pub device: &'r mut ArrayRangeAllocator<N>,
}

impl<const N: usize> Ideal<'_, N> {
    /// Add one untyped.
    pub fn add_untyped(&mut self, paddr: u64, size_bits: u8, is_device: bool) -> Result<(), RangeError> {
        let a = if is_device { &mut *self.device } else { &mut *self.ram };
        let end = paddr.checked_add(1u64 << size_bits).ok_or(RangeError::InvalidArgument)?;
        a.add_boundary(paddr)?;
        a.add_boundary(end)?;
        a.add_range(paddr, 1u64 << size_bits)
    }

    fn alloc(&mut self, ty: ObjectType, size_bits: u8, addr: Option<u64>) -> Result<u64, RangeError> {
        let bits = trace::object_bits(ty, size_bits);
        let size = 1u64 << bits;
        match addr {
            None => self.ram.alloc(size, bits, None),
            Some(a) => match self.ram.alloc_addr(a, size) {
                Ok(()) => Ok(a),
                Err(_) if ty.allowed_from_device() => self.device.alloc_addr(a, size).map(|()| a),
                Err(e) => Err(e),
            },
        }
    }

    fn free(&mut self, addr: u64) {
        if self.ram.free(addr).is_err() {
            let _ = self.device.free(addr);
        }
    }
}

/// Replay `text` through the ideal allocator (live table value: the
/// object's address and size, `None` if it failed).
pub fn run_ideal<'a, const N: usize>(
    text: &'a str,
    boot: &[UntypedDesc],
    ideal: &mut Ideal<'_, N>,
    table: &mut IdTable<'_, 'a, Option<(u64, u64)>>,
) -> Result<IdealStats, TraceError<'a>> {
    let mut st = IdealStats::default();
    let mut live = 0u64;
    let mut n = 0u64;
    for item in trace::ops(text) {
        let (line, op) = item?;
        n += 1;
        match op {
            Op::Alloc { ty, size_bits, addr, .. } if invalid_request(boot, ty, size_bits, addr).is_some() => {
                st.invalid += 1;
                trace::track(table, line, &op, None)?;
            }
            Op::Alloc { ty, size_bits, addr, .. } => {
                let v = match ideal.alloc(ty, size_bits, addr) {
                    Ok(a) => {
                        st.allocs += 1;
                        let bytes = object_bytes(ty, size_bits);
                        live += bytes;
                        Some((a, bytes))
                    }
                    Err(_) => {
                        st.failed += 1;
                        if st.first_failure_op.is_none() {
                            st.first_failure_op = Some(n);
                            st.live_bytes_at_first_failure = Some(live);
                        }
                        None
                    }
                };
                trace::track(table, line, &op, v)?;
            }
            Op::Free { .. } => {
                if let Some(Some((a, bytes))) = trace::track(table, line, &op, None)? {
                    ideal.free(a);
                    live -= bytes;
                }
            }
        }
    }
    table.drain(|_, v| {
        if let Some((a, _)) = v {
            ideal.free(a);
        }
    });
    st.largest_after_free_all = ideal.ram.largest_aligned_free_log2().map_or(0, |b| 1u64 << b);
    Ok(st)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;
    use crate::baselines::buddy::Buddy;
    use crate::baselines::slab::Entry;
    use sel4_core::cap_space::{CapEntry, CapSpace};
    use sel4_core::kernel::UntypedDesc;
    use sel4_kernel_model::{KernelModel, ModelSlot};

    #[test]
    fn a_duplicate_id_stops_the_replay_before_allocating() {
        let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 16, is_device: false }];
        let mut k = KernelModel::new(vec![ModelSlot::EMPTY; 64], &boot, Slot(2)).unwrap();
        let mut caps = vec![CapEntry::EMPTY; 62];
        let mut nodes = vec![Entry::EMPTY; 64];
        let mut s = Buddy::new(&boot, CapSpace::new(&mut caps[..], Slot(2)).unwrap(), &mut nodes).unwrap();
        let mut st = vec![None; 8];
        let mut table = IdTable::new(&mut st);
        let text = "alloc a endpoint 0\nfree a\nalloc a endpoint 0\nalloc a tcb 0\n";
        let e = run(text, &boot, &mut s, &mut k, &mut table, || 0).unwrap_err();
        assert_eq!(e, TraceError { line: 4, kind: trace::ErrorKind::DuplicateId("a") });
        // Two endpoints were created (one freed); the TCB never was.
        assert_eq!(k.iter().filter(|(_, c)| matches!(c, sel4_kernel_model::ModelCap::Object { .. })).count(), 1);
        assert_eq!(table.len(), 1);
    }

    /// A RAM untyped and a device untyped at 1 MiB.
    fn ram_and_device() -> [UntypedDesc; 2] {
        [
            UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 20, is_device: false },
            UntypedDesc { slot: Slot(2), paddr: 0x10_0000, size_bits: 20, is_device: true },
        ]
    }

    #[test]
    fn an_invalid_request_is_invalid_for_every_strategy_and_the_ideal_allocator() {
        let boot = ram_and_device();
        // A TCB in device memory, then requests that succeed everywhere.
        let text = "alloc a tcb 0 0x100000\nalloc b endpoint 0\nalloc c frame_4k 0 0x100000\nfree b\n";
        for name in ["ours", "freeindex", "buddy", "genode"] {
            let r = host::replay(name, text, &boot, host::Options { object_slots: 256 }).unwrap();
            let st = r.stats;
            assert_eq!((st.invalid, st.allocs, st.failed, st.refused, st.disagreements), (1, 2, 0, 0, 0), "{name}");
            assert_eq!(st.first_failure_op, None, "{name}: an invalid request is no failure");
        }
        let summary = host::check(text).unwrap();
        let ideal = host::ideal(text, &boot, &summary).unwrap();
        assert_eq!((ideal.invalid, ideal.allocs, ideal.failed, ideal.first_failure_op), (1, 2, 0, None));
    }

    /// Calls every request invalid.
    struct Contrary;

    impl Strategy for Contrary {
        fn name(&self) -> &'static str {
            "contrary"
        }
        fn alloc<K: Kernel>(
            &mut self,
            _: &mut K,
            _: ObjectType,
            _: u8,
            _: Option<u64>,
        ) -> Result<Placed, AllocFailure> {
            Err(AllocFailure::Invalid(KernelError::IllegalOperation))
        }
        fn free<K: Kernel>(&mut self, _: &mut K, _: ObjectId) -> Result<(), crate::strategy::FreeError> {
            Ok(())
        }
        fn largest_allocatable<K: Kernel>(&mut self, _: &mut K) -> u64 {
            0
        }
    }

    #[test]
    fn a_strategy_that_calls_a_valid_request_invalid_disagrees() {
        let boot = ram_and_device();
        let mut k = KernelModel::new(vec![ModelSlot::EMPTY; 64], &boot, Slot(3)).unwrap();
        let mut st = vec![None; 8];
        let mut table = IdTable::new(&mut st);
        let text = "alloc a endpoint 0\nalloc b tcb 0 0x100000\n";
        let stats = run(text, &boot, &mut Contrary, &mut k, &mut table, || 0).unwrap();
        assert_eq!((stats.disagreements, stats.invalid, stats.refused, stats.failed), (1, 1, 0, 0));
        assert_eq!(stats.first_failure_op, None);
    }
}
