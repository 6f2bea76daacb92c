//! Trace replay: drives a [`Strategy`] through a trace against a [`Kernel`]
//! and counts what happened, and runs the same trace through an ideal
//! allocator (the plain range allocator, no kernel constraints) for
//! comparison. no_std and allocation-free: the caller provides the live-id
//! table storage and a clock, so the same driver runs on the host and inside
//! the root task.

use crate::strategy::{AllocFailure, Handle, Placed, Strategy};
use crate::trace::{self, IdTable, Op, TraceError};
use sel4_core::kernel::{Counting, InvocationCounts, Kernel, Slot};
use sel4_core::object::ObjectType;
use sel4_core::range_allocator::{ArrayRangeAllocator, RangeError};

#[cfg(any(test, feature = "std"))]
pub mod host;

/// A live trace id: the strategy's handle (`None` when the allocation did
/// not happen, so its `free` is skipped), the object's size, and where the
/// strategy says it is (cap slot and physical address).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Live {
    pub handle: Option<Handle>,
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
    /// The allocator chose an address and the kernel could not place the
    /// object there (or the object landed elsewhere).
    pub refused: u64,
    /// The allocator found no block.
    pub failed: u64,
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
    /// asked for `asked`, and returns what the live-id table keeps for its id.
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
                }
                if !matches!(f, AllocFailure::Invalid(_)) {
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
                let r = strategy.alloc(&mut k, ty, size_bits, addr);
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
                Err(_) if ty.device_ok() => self.device.alloc_addr(a, size).map(|()| a),
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
    use sel4_core::kernel::BootUntyped;
    use sel4_kernel_model::{KernelModel, ModelSlot};

    #[test]
    fn a_duplicate_id_stops_the_replay_before_allocating() {
        let boot = [BootUntyped { slot: Slot(1), paddr: 0, size_bits: 16, is_device: false }];
        let mut k = KernelModel::new(vec![ModelSlot::EMPTY; 64], &boot, Slot(2)).unwrap();
        let mut caps = vec![CapEntry::EMPTY; 62];
        let mut nodes = vec![Entry::EMPTY; 64];
        let mut s = Buddy::new(&boot, CapSpace::new(&mut caps[..], Slot(2)).unwrap(), &mut nodes).unwrap();
        let mut st = vec![None; 8];
        let mut table = IdTable::new(&mut st);
        let text = "alloc a endpoint 0\nfree a\nalloc a endpoint 0\nalloc a tcb 0\n";
        let e = run(text, &mut s, &mut k, &mut table, || 0).unwrap_err();
        assert_eq!(e, TraceError { line: 4, kind: trace::ErrorKind::DuplicateId("a") });
        // Two endpoints were created (one freed); the TCB never was.
        assert_eq!(k.iter().filter(|(_, c)| matches!(c, sel4_kernel_model::ModelCap::Object { .. })).count(), 1);
        assert_eq!(table.len(), 1);
    }
}
