//! Slot allocation in core's CSpace: naturally aligned runs of 2^k slots, k up to the kernel's
//! retype fan-out (one `Untyped_Retype` writes one destination window of consecutive slots,
//! `src/object/untyped.c:decodeUntypedInvocation`, at most `CONFIG_RETYPE_FAN_OUT_LIMIT` of
//! them): single slots for object caps, pairs for splits, and a run per dataspace run of frames.
//!
//! A binary buddy allocator over slot numbers: runs are aligned by their absolute slot number,
//! so a run never straddles a second-level CNode of core's CSpace (those hold at least as many
//! slots as the largest run). One free list per order; a single is taken from the smallest free
//! run first, so larger runs stay whole; a freed run merges with its free buddy. Every
//! operation is O(orders). Storage is caller-provided, one [`CapEntry`] per slot.

use crate::kernel::Slot;

const NIL: u32 = u32::MAX;
/// Slot state: allocated.
const USED: u8 = u8::MAX;
/// Slot state: inside a free run, not its first slot.
const INNER: u8 = u8::MAX - 1;
// Any other state k: the first slot of a free run of 2^k slots, on list k.

/// The largest run: the most objects one retype creates (a power of two on every configuration
/// the kernel builds; rounded down otherwise).
pub const MAX_RUN_LOG2: u32 = sel4_abi::RETYPE_FAN_OUT_LIMIT.ilog2();
const ORDERS: usize = MAX_RUN_LOG2 as usize + 1;

/// Per-slot bookkeeping (initialise storage with [`CapEntry::EMPTY`]).
#[derive(Copy, Clone, Debug)]
pub struct CapEntry {
    prev: u32,
    next: u32,
    state: u8,
}

impl CapEntry {
    pub const EMPTY: CapEntry = CapEntry { prev: NIL, next: NIL, state: USED };
}

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum CapSpaceError {
    /// No free run of the size asked for left.
    Exhausted,
    /// Freeing a slot that is not allocated.
    NotAllocated(Slot),
    /// The slot is outside the managed range.
    OutOfRange(Slot),
    /// Runs are powers of two up to 2^[`MAX_RUN_LOG2`] slots, aligned to their size.
    UnsupportedRun(u32),
    /// Storage larger than slot numbers can name.
    Storage,
}

impl core::fmt::Display for CapSpaceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CapSpaceError::Exhausted => write!(f, "cap slots exhausted"),
            CapSpaceError::NotAllocated(s) => write!(f, "slot {:#x} is not allocated", s.0),
            CapSpaceError::OutOfRange(s) => write!(f, "slot {:#x} is outside core's cap space", s.0),
            CapSpaceError::UnsupportedRun(n) => {
                write!(f, "a run of {n} slots is not a power of two up to {}", 1u32 << MAX_RUN_LOG2)
            }
            CapSpaceError::Storage => write!(f, "cap storage larger than slot numbers can name"),
        }
    }
}

pub struct CapSpace<S> {
    e: S,
    first: u32,
    heads: [u32; ORDERS],
    free: usize,
    /// Slots from here on are held back (allocated) until [`Self::release_held`]; `NIL`: none.
    held_from: u32,
}

impl<S: AsRef<[CapEntry]> + AsMut<[CapEntry]>> CapSpace<S> {
    /// Manages slots `[first, first + storage.len())`, all free.
    pub fn new(mut storage: S, first: Slot) -> Result<Self, CapSpaceError> {
        let len = storage.as_ref().len();
        if first.0 as u64 + len as u64 >= NIL as u64 {
            return Err(CapSpaceError::Storage);
        }
        for x in storage.as_mut().iter_mut() {
            *x = CapEntry::EMPTY;
        }
        let mut cs = CapSpace { e: storage, first: first.0, heads: [NIL; ORDERS], free: 0, held_from: NIL };
        cs.add_free(first.0, first.0 + len as u32);
        Ok(cs)
    }

    /// Holds every slot from `from` on back from allocation, also those a later
    /// [`Self::replace_storage`] adds, until [`Self::release_held`]: for slots that exist in the
    /// kernel only later (core's CSpace beyond the boot CNode, before `root::cspace` made it).
    pub fn hold_from(&mut self, from: Slot) {
        if from.0 < self.first + self.capacity() as u32 {
            // Only slots past the end can be held: every slot below it may be in use.
            return;
        }
        self.held_from = from.0;
    }

    /// Makes the held slots free.
    pub fn release_held(&mut self) {
        let (from, end) = (self.held_from, self.first + self.capacity() as u32);
        self.held_from = NIL;
        if from < end {
            self.add_free(from, end);
        }
    }

    /// Makes the allocated slots `[lo, hi)` free (below the held ones), as the largest aligned
    /// runs, merging with free buddies. Pushed from the top down, so low slots come out first.
    fn add_free(&mut self, lo: u32, hi: u32) {
        let hi = hi.min(self.held_from.max(lo));
        let mut top = hi;
        while top > lo {
            // The largest aligned run ending at `top` that starts at or above `lo`.
            let mut k = (top.trailing_zeros()).min(MAX_RUN_LOG2);
            while top - lo < 1 << k {
                k -= 1;
            }
            top -= 1 << k;
            self.release(top, k);
        }
    }

    pub fn capacity(&self) -> usize {
        self.e.as_ref().len()
    }

    /// Whether storage of `len` entries can hold this cap space: at least as large, and
    /// small enough for slot numbers.
    pub fn can_move_to(&self, len: usize) -> bool {
        len >= self.capacity() && (self.first as u64 + len as u64) < NIL as u64
    }

    /// Moves the cap space onto `storage` (see [`Self::can_move_to`]) and returns the old
    /// storage: every slot keeps its state, and the slots past the old capacity are free,
    /// lowest first. Gives `storage` back if it cannot hold the cap space.
    pub fn replace_storage(&mut self, mut storage: S) -> Result<S, S> {
        if !self.can_move_to(storage.as_ref().len()) {
            return Err(storage);
        }
        let (old, len) = (self.capacity(), storage.as_ref().len());
        let dst = storage.as_mut();
        dst[..old].copy_from_slice(self.e.as_ref());
        for x in dst[old..].iter_mut() {
            *x = CapEntry::EMPTY;
        }
        let previous = core::mem::replace(&mut self.e, storage);
        self.add_free(self.first + old as u32, self.first + len as u32);
        Ok(previous)
    }

    pub fn free_slots(&self) -> usize {
        self.free
    }

    fn ent(&mut self, s: u32) -> &mut CapEntry {
        &mut self.e.as_mut()[(s - self.first) as usize]
    }

    fn state(&self, s: u32) -> u8 {
        self.e.as_ref()[(s - self.first) as usize].state
    }

    fn contains(&self, s: u32) -> bool {
        s >= self.first && ((s - self.first) as usize) < self.capacity()
    }

    /// Puts the free run at slot `s` of order `k` on its list.
    fn push(&mut self, s: u32, k: u32) {
        let h = self.heads[k as usize];
        *self.ent(s) = CapEntry { prev: NIL, next: h, state: k as u8 };
        if h != NIL {
            self.ent(h).prev = s;
        }
        self.heads[k as usize] = s;
    }

    /// Takes the free run at slot `s` of order `k` off its list (its first slot becomes inner).
    fn unlink(&mut self, s: u32, k: u32) {
        let CapEntry { prev, next, .. } = *self.ent(s);
        if prev != NIL {
            self.ent(prev).next = next;
        } else {
            self.heads[k as usize] = next;
        }
        if next != NIL {
            self.ent(next).prev = prev;
        }
        *self.ent(s) = CapEntry { prev: NIL, next: NIL, state: INNER };
    }

    /// Frees the run at `s` of order `k`, whose slots are all marked inner or used: merges it
    /// with its free buddies and counts it free.
    fn release(&mut self, mut s: u32, mut k: u32) {
        for x in s..s + (1 << k) {
            self.ent(x).state = INNER;
        }
        self.free += 1 << k;
        while k < MAX_RUN_LOG2 {
            let buddy = s ^ (1 << k);
            if !self.contains(buddy) || self.state(buddy) != k as u8 {
                break;
            }
            self.unlink(buddy, k);
            s = s.min(buddy);
            k += 1;
        }
        self.push(s, k);
    }

    /// A free run of 2^k slots, aligned to its size: the first slot.
    fn alloc_order(&mut self, k: u32) -> Result<Slot, CapSpaceError> {
        let mut j = k;
        while (j as usize) < ORDERS && self.heads[j as usize] == NIL {
            j += 1;
        }
        if j as usize >= ORDERS {
            return Err(CapSpaceError::Exhausted);
        }
        let s = self.heads[j as usize];
        self.unlink(s, j);
        // Give back the upper halves down to the order asked for.
        while j > k {
            j -= 1;
            self.push(s + (1 << j), j);
        }
        for x in s..s + (1 << k) {
            self.ent(x).state = USED;
        }
        self.free -= 1 << k;
        Ok(Slot(s))
    }

    /// One free slot.
    pub fn alloc(&mut self) -> Result<Slot, CapSpaceError> {
        self.alloc_order(0)
    }

    /// Two consecutive free slots `[s, s+1)`, `s` even; returns `s`.
    pub fn alloc_pair(&mut self) -> Result<Slot, CapSpaceError> {
        self.alloc_order(1)
    }

    /// `n` consecutive free slots, `n` a power of two up to 2^[`MAX_RUN_LOG2`], the first
    /// aligned to `n`.
    pub fn alloc_run(&mut self, n: u32) -> Result<Slot, CapSpaceError> {
        if !n.is_power_of_two() || n.ilog2() > MAX_RUN_LOG2 {
            return Err(CapSpaceError::UnsupportedRun(n));
        }
        self.alloc_order(n.ilog2())
    }

    pub fn is_allocated(&self, s: Slot) -> bool {
        self.contains(s.0) && self.state(s.0) == USED
    }

    fn check(&self, s: Slot) -> Result<(), CapSpaceError> {
        if !self.contains(s.0) {
            return Err(CapSpaceError::OutOfRange(s));
        }
        if self.state(s.0) != USED {
            return Err(CapSpaceError::NotAllocated(s));
        }
        Ok(())
    }

    /// Returns one slot.
    pub fn free(&mut self, s: Slot) -> Result<(), CapSpaceError> {
        self.check(s)?;
        self.release(s.0, 0);
        Ok(())
    }

    /// Returns `n` consecutive slots starting at `s` (a run as [`Self::alloc_run`] hands out,
    /// or any slots that are each allocated).
    pub fn free_run(&mut self, s: Slot, n: u32) -> Result<(), CapSpaceError> {
        if !n.is_power_of_two() || n.ilog2() > MAX_RUN_LOG2 {
            return Err(CapSpaceError::UnsupportedRun(n));
        }
        for k in 0..n {
            self.check(Slot(s.0 + k))?;
        }
        if s.0.is_multiple_of(n) {
            self.release(s.0, n.ilog2());
        } else {
            for k in 0..n {
                self.release(s.0 + k, 0);
            }
        }
        Ok(())
    }
}
#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::BTreeSet;
    use std::vec;
    use std::vec::Vec;

    fn cs(n: usize) -> CapSpace<Vec<CapEntry>> {
        CapSpace::new(vec![CapEntry::EMPTY; n], Slot(100)).unwrap()
    }

    #[test]
    fn pairs_are_consecutive_and_singles_fill_half_pairs_first() {
        let mut c = cs(8);
        let a = c.alloc().unwrap();
        let b = c.alloc().unwrap();
        assert_eq!((a, b), (Slot(100), Slot(101)), "second single takes the partner");
        let p = c.alloc_pair().unwrap();
        assert_eq!(p, Slot(102));
        assert_eq!(c.free_slots(), 4);
        c.free(a).unwrap();
        assert_eq!(c.alloc_pair().unwrap(), Slot(104));
        c.free(b).unwrap();
        assert_eq!(c.alloc_pair().unwrap(), Slot(100), "two freed singles merge into a pair");
        assert_eq!(c.alloc_pair().unwrap(), Slot(106));
        assert_eq!(c.alloc_pair(), Err(CapSpaceError::Exhausted));
        assert_eq!(c.alloc(), Err(CapSpaceError::Exhausted));
    }

    #[test]
    fn errors() {
        let mut c = cs(3);
        assert_eq!(c.free(Slot(99)), Err(CapSpaceError::OutOfRange(Slot(99))));
        assert_eq!(c.free(Slot(103)), Err(CapSpaceError::OutOfRange(Slot(103))));
        assert_eq!(c.free(Slot(100)), Err(CapSpaceError::NotAllocated(Slot(100))));
        assert_eq!(c.alloc_run(3), Err(CapSpaceError::UnsupportedRun(3)));
        let s = c.alloc().unwrap();
        assert_eq!(s, Slot(102), "the odd tail slot is a single");
        c.free(s).unwrap();
        assert_eq!(c.free(s), Err(CapSpaceError::NotAllocated(s)));
        let p = c.alloc_run(2).unwrap();
        assert_eq!(c.free_run(p, 3), Err(CapSpaceError::UnsupportedRun(3)));
        c.free_run(p, 2).unwrap();
        assert_eq!(c.free_slots(), 3);
    }

    #[test]
    fn random_use_matches_a_set() {
        // Deterministic pseudo-random mix of single and pair allocations and frees.
        let mut c = cs(64);
        let mut used = BTreeSet::new();
        let mut runs: Vec<(Slot, u32)> = Vec::new();
        let mut x: u64 = 12345;
        for _ in 0..20000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = (x >> 33) as usize;
            if r.is_multiple_of(3) && !runs.is_empty() {
                let (s, n) = runs.swap_remove(r % runs.len());
                c.free_run(s, n).unwrap();
                for k in 0..n {
                    assert!(used.remove(&(s.0 + k)));
                }
            } else {
                let n = 1 + (r % 2) as u32;
                match c.alloc_run(n) {
                    Ok(s) => {
                        for k in 0..n {
                            assert!(used.insert(s.0 + k), "slot handed out twice");
                            assert!((100..164).contains(&(s.0 + k)));
                        }
                        runs.push((s, n));
                    }
                    Err(CapSpaceError::Exhausted) => {
                        if n == 1 {
                            assert_eq!(used.len(), 64);
                        } else {
                            // No aligned free pair may exist.
                            assert!((0..32).all(|p| used.contains(&(100 + 2 * p)) || used.contains(&(101 + 2 * p))));
                        }
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            assert_eq!(c.free_slots(), 64 - used.len());
        }
    }

    #[test]
    fn runs_of_every_order_are_aligned_and_exact() {
        // 1000 slots from 100: runs of 1 to 256 slots at random, checked against a set.
        let (first, len) = (100u32, 1000u32);
        let mut c = CapSpace::new(vec![CapEntry::EMPTY; len as usize], Slot(first)).unwrap();
        let mut used = BTreeSet::new();
        let mut runs: Vec<(Slot, u32)> = Vec::new();
        let mut x: u64 = 99;
        for _ in 0..20000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = (x >> 33) as usize;
            if r % 5 < 2 && !runs.is_empty() {
                let (s, n) = runs.swap_remove(r % runs.len());
                c.free_run(s, n).unwrap();
                for k in 0..n {
                    assert!(used.remove(&(s.0 + k)));
                }
            } else {
                let n = 1u32 << (r % (MAX_RUN_LOG2 as usize + 1));
                match c.alloc_run(n) {
                    Ok(s) => {
                        assert_eq!(s.0 % n, 0, "a run is aligned to its size");
                        for k in 0..n {
                            assert!(used.insert(s.0 + k), "slot handed out twice");
                            assert!((first..first + len).contains(&(s.0 + k)));
                        }
                        runs.push((s, n));
                    }
                    Err(CapSpaceError::Exhausted) => {
                        // No aligned run of n free slots exists.
                        let free_run =
                            |b: u32| (b..b + n).all(|s| (first..first + len).contains(&s) && !used.contains(&s));
                        assert!(!(first..first + len).filter(|s| s % n == 0).any(free_run));
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            assert_eq!(c.free_slots(), (len as usize) - used.len());
        }
        for (s, n) in runs.drain(..) {
            c.free_run(s, n).unwrap();
        }
        assert_eq!(c.free_slots(), len as usize);
        assert_eq!(c.alloc_run(256).unwrap(), Slot(256), "everything merged back");
    }

    #[test]
    fn held_slots_are_handed_out_only_once_released() {
        // Slots 100..104 now; grown to 100..300 with everything from 256 on held back.
        let mut c = cs(4);
        c.hold_from(Slot(256));
        assert!(c.replace_storage(vec![CapEntry::EMPTY; 200]).is_ok());
        assert_eq!(c.free_slots(), 156);
        let mut got = BTreeSet::new();
        while let Ok(s) = c.alloc() {
            got.insert(s.0);
        }
        assert_eq!(got, (100..256).collect(), "nothing at or above 256 while held");
        c.release_held();
        assert_eq!(c.free_slots(), 44);
        assert_eq!(c.alloc_run(32).unwrap(), Slot(256));
    }

    #[test]
    fn a_moved_cap_space_keeps_its_slots_and_frees_the_new_ones() {
        // Slots 100..105: a pair at 100, the lone single 104 taken and given back.
        let mut c = cs(5);
        assert_eq!(c.alloc_pair().unwrap(), Slot(100));
        assert_eq!(c.alloc().unwrap(), Slot(104));
        c.free(Slot(104)).unwrap();
        assert!(!c.can_move_to(4));
        assert_eq!(c.replace_storage(vec![CapEntry::EMPTY; 9]).map(|v| v.len()).map_err(|v| v.len()), Ok(5));
        assert_eq!((c.capacity(), c.free_slots()), (9, 7));
        assert!(c.is_allocated(Slot(100)) && c.is_allocated(Slot(101)));
        // The old last slot and the first new one form a pair.
        let mut pairs = BTreeSet::new();
        while let Ok(p) = c.alloc_pair() {
            pairs.insert(p.0);
        }
        assert_eq!(pairs, BTreeSet::from([102, 104, 106]));
        assert_eq!(c.alloc().unwrap(), Slot(108));
        assert_eq!(c.replace_storage(vec![CapEntry::EMPTY; 1]).map(|v| v.len()).map_err(|v| v.len()), Err(1));
    }
}
