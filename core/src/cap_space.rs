//! Slot allocation in core's CSpace: single slots for object caps and aligned runs of two for
//! splits (one `Untyped_Retype` of two halves writes two consecutive slots,
//! `src/object/untyped.c:decodeUntypedInvocation` takes one destination window).
//!
//! Slots `[first, first + len)` are managed in aligned pairs. Free slots sit on one of two O(1)
//! lists: whole free pairs, and single free slots whose partner is in use. A single is taken
//! from a half-used pair first, so whole pairs stay available; freeing a slot whose partner is
//! free moves the pair back to the pair list. Every operation is O(1); runs longer than two are
//! not supported (placement never needs them). Storage is caller-provided, one [`CapEntry`] per slot.

use crate::kernel::Slot;

const NIL: u32 = u32::MAX;
const USED: u8 = 0;
const SINGLE: u8 = 1;
const PAIR: u8 = 2;

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
    /// No free slot (or no free aligned pair) left.
    Exhausted,
    /// Freeing a slot that is not allocated.
    NotAllocated(Slot),
    /// The slot is outside the managed range.
    OutOfRange(Slot),
    /// Only runs of 1 or 2 slots exist.
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
            CapSpaceError::UnsupportedRun(n) => write!(f, "runs of {n} slots are not supported (1 or 2)"),
            CapSpaceError::Storage => write!(f, "cap storage larger than slot numbers can name"),
        }
    }
}

pub struct CapSpace<S> {
    e: S,
    first: u32,
    singles: u32,
    pairs: u32,
    free: usize,
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
        let mut cs = CapSpace { e: storage, first: first.0, singles: NIL, pairs: NIL, free: 0 };
        // Push in reverse so low slots come out first.
        let len = len as u32;
        if len % 2 == 1 {
            cs.push(len - 1, SINGLE);
        }
        let mut p = len & !1;
        while p > 0 {
            p -= 2;
            cs.push(p, PAIR);
        }
        cs.free = len as usize;
        Ok(cs)
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
        let (old, len) = (old as u32, len as u32);
        // Free lists hand out their last push first: push the new slots from the top down.
        let start = old + old % 2;
        let mut top = len;
        if (top - start.min(top)) % 2 == 1 {
            top -= 1;
            self.push(top, SINGLE);
        }
        while top > start {
            top -= 2;
            self.push(top, PAIR);
        }
        if old % 2 == 1 && old < len {
            // The old last slot's partner is new: a free single becomes a free pair.
            if self.ent(old - 1).state == SINGLE {
                self.unlink(old - 1, SINGLE);
                self.push(old - 1, PAIR);
            } else {
                self.push(old, SINGLE);
            }
        }
        self.free += (len - old) as usize;
        Ok(previous)
    }

    pub fn free_slots(&self) -> usize {
        self.free
    }

    fn ent(&mut self, i: u32) -> &mut CapEntry {
        &mut self.e.as_mut()[i as usize]
    }

    fn head(&mut self, kind: u8) -> &mut u32 {
        if kind == PAIR {
            &mut self.pairs
        } else {
            &mut self.singles
        }
    }

    /// Pushes index `i` on list `kind` (for a pair, `i` is the even member and both are marked).
    fn push(&mut self, i: u32, kind: u8) {
        let h = *self.head(kind);
        *self.ent(i) = CapEntry { prev: NIL, next: h, state: kind };
        if kind == PAIR {
            self.ent(i + 1).state = PAIR;
        }
        if h != NIL {
            self.ent(h).prev = i;
        }
        *self.head(kind) = i;
    }

    fn unlink(&mut self, i: u32, kind: u8) {
        let CapEntry { prev, next, .. } = *self.ent(i);
        if prev != NIL {
            self.ent(prev).next = next;
        } else {
            *self.head(kind) = next;
        }
        if next != NIL {
            self.ent(next).prev = prev;
        }
        *self.ent(i) = CapEntry::EMPTY;
        if kind == PAIR {
            self.ent(i + 1).state = USED;
        }
    }

    fn index(&self, s: Slot) -> Result<u32, CapSpaceError> {
        match s.0.checked_sub(self.first) {
            Some(i) if (i as usize) < self.capacity() => Ok(i),
            _ => Err(CapSpaceError::OutOfRange(s)),
        }
    }

    /// One free slot.
    pub fn alloc(&mut self) -> Result<Slot, CapSpaceError> {
        let i = if self.singles != NIL {
            let i = self.singles;
            self.unlink(i, SINGLE);
            i
        } else if self.pairs != NIL {
            let p = self.pairs;
            self.unlink(p, PAIR);
            self.push(p + 1, SINGLE);
            p
        } else {
            return Err(CapSpaceError::Exhausted);
        };
        self.free -= 1;
        Ok(Slot(self.first + i))
    }

    /// Two consecutive free slots `[s, s+1)`; returns `s`.
    pub fn alloc_pair(&mut self) -> Result<Slot, CapSpaceError> {
        let p = self.pairs;
        if p == NIL {
            return Err(CapSpaceError::Exhausted);
        }
        self.unlink(p, PAIR);
        self.free -= 2;
        Ok(Slot(self.first + p))
    }

    /// `n` consecutive free slots (n = 1 or 2).
    pub fn alloc_run(&mut self, n: u32) -> Result<Slot, CapSpaceError> {
        match n {
            1 => self.alloc(),
            2 => self.alloc_pair(),
            _ => Err(CapSpaceError::UnsupportedRun(n)),
        }
    }

    pub fn is_allocated(&self, s: Slot) -> bool {
        self.index(s).is_ok_and(|i| self.e.as_ref()[i as usize].state == USED)
    }

    /// Returns one slot.
    pub fn free(&mut self, s: Slot) -> Result<(), CapSpaceError> {
        let i = self.index(s)?;
        if self.ent(i).state != USED {
            return Err(CapSpaceError::NotAllocated(s));
        }
        let partner = i ^ 1;
        if (partner as usize) < self.capacity() && self.ent(partner).state == SINGLE {
            self.unlink(partner, SINGLE);
            self.push(i & !1, PAIR);
        } else {
            self.push(i, SINGLE);
        }
        self.free += 1;
        Ok(())
    }

    /// Returns `n` consecutive slots starting at `s`.
    pub fn free_run(&mut self, s: Slot, n: u32) -> Result<(), CapSpaceError> {
        if n == 0 || n > 2 {
            return Err(CapSpaceError::UnsupportedRun(n));
        }
        for k in 0..n {
            let x = Slot(s.0 + k);
            if !self.is_allocated(x) {
                return Err(self.index(x).err().unwrap_or(CapSpaceError::NotAllocated(x)));
            }
        }
        for k in 0..n {
            self.free(Slot(s.0 + k))?;
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
