//! Property tests: random operation sequences run against the allocator and
//! against a byte map of a small address space (trivially correct), which
//! must agree on every result, on the block list and on the free bytes.

extern crate std;

use super::{ArrayRangeAllocator, Block, RangeError};
use proptest::prelude::*;
use proptest::sample::Index;
use std::vec::Vec;

/// Size of the modelled address space in bytes.
const SPACE: u64 = 512;
const BOUNDARIES: usize = 12;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Byte {
    Unmanaged,
    Free,
    /// Used, by the block starting at this offset.
    Used(u64),
}

/// Reference model over offsets `0..SPACE`; the allocator sees `offset + i`.
#[derive(Clone)]
struct Model {
    offset: u64,
    bytes: Vec<Byte>,
    boundaries: Vec<u64>, // absolute addresses
    /// size of the used block starting at each offset
    used_size: Vec<u64>,
}

#[derive(Clone, Debug)]
enum Op {
    AddRange(u64, u64),
    RemoveRange(u64, u64),
    Alloc { size: u64, align_log2: u8, range: Option<(u64, u64)> },
    AllocAddr(u64, u64),
    Free { pick: Index, addr: u64, random: bool },
    AddBoundary(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let off = 0..SPACE + 16;
    let size = prop_oneof![1..48u64, 1..SPACE + 8];
    let range = prop_oneof![
        2 => Just(None),
        1 => (0..=SPACE + 8, 0..=SPACE + 8).prop_map(Some),
    ];
    let alloc = prop_oneof![
        (size.clone(), 0..=9u8, range.clone()).prop_map(|(size, align_log2, range)| Op::Alloc {
            size,
            align_log2,
            range
        }),
        // naturally aligned powers of two: what core asks for
        (0..=8u8, range).prop_map(|(k, range)| Op::Alloc { size: 1 << k, align_log2: k, range }),
    ];
    prop_oneof![
        3 => (off.clone(), size.clone()).prop_map(|(b, s)| Op::AddRange(b, s)),
        1 => (off.clone(), size.clone()).prop_map(|(b, s)| Op::RemoveRange(b, s)),
        6 => alloc,
        2 => (off.clone(), size).prop_map(|(b, s)| Op::AllocAddr(b, s)),
        4 => (any::<Index>(), off.clone(), prop::bool::weighted(0.2)).prop_map(|(pick, addr, random)| Op::Free { pick, addr, random }),
        1 => off.prop_map(Op::AddBoundary),
    ]
}

/// Address space placements: low, high, and touching the top of u64.
fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), Just(0x1_0000_0000u64), Just(0u64.wrapping_sub(SPACE))]
}

fn align_up(x: u128, align_log2: u8) -> u128 {
    let a = 1u128 << align_log2;
    (x + a - 1) & !(a - 1)
}

fn order(base: u64, size: u64) -> u8 {
    (0..64u8)
        .rev()
        .find(|&k| {
            let x = align_up(base as u128, k);
            x + (1u128 << k) <= base as u128 + size as u128
        })
        .unwrap()
}

impl Model {
    fn new(offset: u64) -> Self {
        Model {
            offset,
            bytes: std::vec![Byte::Unmanaged; SPACE as usize],
            boundaries: Vec::new(),
            used_size: std::vec![0; SPACE as usize],
        }
    }

    fn abs(&self, i: u64) -> u64 {
        self.offset.wrapping_add(i)
    }

    /// Offsets of `[abs, abs + size)` inside the modelled space, or None if
    /// the range leaves it (the model then knows it is unmanaged).
    fn rel(&self, abs: u64, size: u64) -> (u128, u128) {
        let b = abs.wrapping_sub(self.offset) as u128;
        (b, b + size as u128)
    }

    fn byte(&self, i: u128) -> Byte {
        if i < SPACE as u128 {
            self.bytes[i as usize]
        } else {
            Byte::Unmanaged
        }
    }

    fn is_boundary_rel(&self, i: u128) -> bool {
        i < SPACE as u128 && self.boundaries.contains(&self.abs(i as u64))
    }

    fn wraps(abs: u64, size: u64) -> bool {
        size == 0 || abs.checked_add(size).is_none()
    }

    /// Whether `[b, e)` (offsets) is free and crosses no boundary.
    fn allocatable(&self, b: u128, e: u128) -> bool {
        (b..e).all(|i| self.byte(i) == Byte::Free) && !(b + 1..e).any(|i| self.is_boundary_rel(i))
    }

    fn blocks(&self) -> Vec<Block> {
        let mut out: Vec<Block> = Vec::new();
        let mut i = 0u64;
        while i < SPACE {
            match self.bytes[i as usize] {
                Byte::Unmanaged => i += 1,
                Byte::Used(start) => {
                    debug_assert_eq!(start, i);
                    let size = self.used_size[i as usize];
                    out.push(Block { base: self.abs(i), size, used: true });
                    i += size;
                }
                Byte::Free => {
                    let mut j = i + 1;
                    while j < SPACE && self.bytes[j as usize] == Byte::Free && !self.is_boundary_rel(j as u128) {
                        j += 1;
                    }
                    out.push(Block { base: self.abs(i), size: j - i, used: false });
                    i = j;
                }
            }
        }
        out
    }

    /// Maximal runs of managed bytes: the allocator's extents, a node each.
    fn extents(&self) -> usize {
        (0..SPACE as usize)
            .filter(|&i| self.bytes[i] != Byte::Unmanaged && (i == 0 || self.bytes[i - 1] == Byte::Unmanaged))
            .count()
    }

    fn mark(&mut self, b: u128, e: u128, v: Byte) {
        for i in b..e {
            self.bytes[i as usize] = v;
        }
    }

    fn add_range(&mut self, abs: u64, size: u64) -> Result<(), RangeError> {
        if Self::wraps(abs, size) {
            return Err(RangeError::InvalidArgument);
        }
        let (b, e) = self.rel(abs, size);
        if (b..e).any(|i| self.byte(i) != Byte::Unmanaged) {
            return Err(RangeError::Overlap);
        }
        assert!(e <= SPACE as u128, "generator keeps ranges in the space");
        self.mark(b, e, Byte::Free);
        Ok(())
    }

    fn remove_range(&mut self, abs: u64, size: u64) -> Result<(), RangeError> {
        if Self::wraps(abs, size) {
            return Err(RangeError::InvalidArgument);
        }
        let (b, e) = self.rel(abs, size);
        if (b..e).any(|i| matches!(self.byte(i), Byte::Used(_))) {
            return Err(RangeError::Overlap);
        }
        for i in b..e.min(SPACE as u128) {
            self.bytes[i as usize] = Byte::Unmanaged;
        }
        Ok(())
    }

    fn take(&mut self, b: u128, size: u64) {
        self.mark(b, b + size as u128, Byte::Used(b as u64));
        self.used_size[b as usize] = size;
    }

    /// The address the documented policy picks: first sure fit, else first
    /// exact fit (blocks cut by the constraint range count as sure).
    fn policy_pick(&self, size: u64, align_log2: u8, lo: u64, hi: u64) -> Option<u64> {
        let floor = 63 - size.leading_zeros() as u8;
        let ceil = if size.is_power_of_two() { floor } else { floor + 1 };
        let sure_order = align_log2.max(ceil);
        let fit = |b: &Block| {
            let l = b.base.max(lo) as u128;
            let h = (b.end().min(hi)) as u128;
            let x = align_up(l, align_log2);
            (l < h && x + size as u128 <= h).then_some(x as u64)
        };
        let free: Vec<Block> = self.blocks().into_iter().filter(|b| !b.used).collect();
        let sure = free.iter().find_map(|b| {
            let inside = b.base >= lo && b.end() <= hi;
            let is_sure =
                (b.size as u128) >= size as u128 + (1u128 << align_log2) - 1 || order(b.base, b.size) >= sure_order;
            if inside && !is_sure {
                None
            } else {
                fit(b)
            }
        });
        sure.or_else(|| free.iter().find_map(fit))
    }
}

/// Runs `ops` on an allocator with a slab of `N` nodes and on the model. The
/// model has no node limit: where its result would hold more blocks and
/// extents than the allocator's capacity, the allocator must answer
/// `OutOfMetadata` and change nothing.
fn run<const N: usize>(offset: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut a = ArrayRangeAllocator::<N, BOUNDARIES>::new_boxed();
    let mut m = Model::new(offset);
    for op in ops {
        let mut next = m.clone();
        let (got, want) = match op {
            Op::AddRange(b, s) => {
                // inside the space (at the top of u64 its end may wrap)
                let b = b % SPACE;
                let s = s.min(SPACE - b);
                let abs = next.abs(b);
                (a.add_range(abs, s).map(|_| 0), next.add_range(abs, s).map(|_| 0))
            }
            Op::RemoveRange(b, s) => {
                let abs = next.abs(b);
                (a.remove_range(abs, s).map(|_| 0), next.remove_range(abs, s).map(|_| 0))
            }
            Op::Alloc { size, align_log2, range } => {
                let (lo, hi) = match range {
                    Some((l, h)) => (offset.saturating_add(l), offset.saturating_add(h)),
                    None => (0, u64::MAX),
                };
                let range = range.map(|_| (lo, hi));
                // `peek` answers what `alloc` then does (short of running out of nodes, which
                // only carving can).
                let peeked = a.peek(size, align_log2, range);
                let got = a.alloc(size, align_log2, range);
                if got != Err(RangeError::OutOfMetadata) {
                    prop_assert_eq!(peeked, got, "peek and alloc disagree");
                }
                let want = if lo >= hi {
                    Err(RangeError::InvalidArgument)
                } else {
                    match next.policy_pick(size, align_log2, lo, hi) {
                        Some(x) => {
                            let (b, e) = next.rel(x, size);
                            // the pick is a valid allocation
                            prop_assert!(next.allocatable(b, e));
                            prop_assert_eq!(x % (1u64 << align_log2), 0);
                            prop_assert!(x >= lo && x as u128 + size as u128 <= hi as u128);
                            next.take(b, size);
                            Ok(x)
                        }
                        None => Err(RangeError::NoFit),
                    }
                };
                (got, want)
            }
            Op::AllocAddr(b, s) => {
                let abs = next.abs(b);
                let got = a.alloc_addr(abs, s).map(|_| 0);
                let want = if Model::wraps(abs, s) {
                    Err(RangeError::InvalidArgument)
                } else {
                    let (rb, re) = next.rel(abs, s);
                    if next.allocatable(rb, re) {
                        next.take(rb, s);
                        Ok(0)
                    } else if (rb..re).any(|i| matches!(next.byte(i), Byte::Used(_))) {
                        Err(RangeError::Overlap)
                    } else {
                        Err(RangeError::NoFit)
                    }
                };
                (got, want)
            }
            Op::Free { pick, addr, random } => {
                let starts: Vec<u64> = (0..SPACE).filter(|&i| next.bytes[i as usize] == Byte::Used(i)).collect();
                let rel = if random || starts.is_empty() { addr } else { starts[pick.index(starts.len())] };
                let abs = next.abs(rel);
                let want = if rel < SPACE && next.bytes[rel as usize] == Byte::Used(rel) {
                    let size = next.used_size[rel as usize];
                    next.mark(rel as u128, (rel + size) as u128, Byte::Free);
                    Ok(size)
                } else {
                    Err(RangeError::NotFound)
                };
                (a.free(abs), want)
            }
            Op::AddBoundary(x) => {
                let abs = next.abs(x);
                let want = if next.boundaries.contains(&abs) {
                    Ok(0)
                } else if next.boundaries.len() == BOUNDARIES {
                    Err(RangeError::OutOfMetadata)
                } else if x < SPACE && matches!(next.bytes[x as usize], Byte::Used(s) if s < x) {
                    Err(RangeError::Overlap)
                } else {
                    next.boundaries.push(abs);
                    Ok(0)
                };
                (a.add_boundary(abs).map(|_| 0), want)
            }
        };
        let nodes = next.blocks().len() + next.extents();
        let want = if want.is_ok() && nodes > a.capacity() { Err(RangeError::OutOfMetadata) } else { want };
        prop_assert_eq!(got, want, "{:?}", op);
        if want.is_ok() {
            m = next;
        }
        a.check_invariants().map_err(TestCaseError::fail)?;
        let blocks = m.blocks();
        prop_assert_eq!(a.iter().collect::<Vec<_>>(), blocks.clone());
        prop_assert_eq!(a.len(), blocks.len());
        prop_assert_eq!(a.extents(), m.extents());
        let avail: u64 = blocks.iter().filter(|b| !b.used).map(|b| b.size).sum();
        prop_assert_eq!(a.avail(), avail);
        let largest = blocks.iter().filter(|b| !b.used).map(|b| b.size).max().unwrap_or(0);
        prop_assert_eq!(a.largest_free(), largest);
        let largest_order = blocks.iter().filter(|b| !b.used).map(|b| order(b.base, b.size)).max();
        prop_assert_eq!(a.largest_aligned_free_log2(), largest_order);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Enough nodes for any state of the model.
    #[test]
    fn agrees_with_byte_map(offset in offset(), ops in prop::collection::vec(op(), 1..80)) {
        run::<{ 2 * SPACE as usize + 64 }>(offset, ops)?;
    }

    /// Few nodes: out-of-metadata exactly when the result would not fit.
    #[test]
    fn runs_out_of_nodes_exactly(offset in offset(), ops in prop::collection::vec(op(), 1..80)) {
        run::<7>(offset, ops)?;
    }
}
