//! Property tests: random operation sequences run against the allocator and
//! against a byte map of a small address space (trivially correct), which
//! must agree on every result, on the block list and on the free bytes.

extern crate std;

use super::{Block, RangeAllocator, RangeError};
use proptest::prelude::*;
use proptest::sample::Index;
use std::vec::Vec;

/// Size of the modelled address space in bytes.
const SPACE: u64 = 512;
const BOUNDARIES: usize = 12;
/// One block per byte at most, plus slack: the model never runs out of nodes.
type Alloc = RangeAllocator<{ SPACE as usize + 8 }, BOUNDARIES>;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Byte {
    Unmanaged,
    Free,
    /// Used, by the block starting at this offset.
    Used(u64),
}

/// Reference model over offsets `0..SPACE`; the allocator sees `offset + i`.
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
        (size.clone(), 0..=9u8, range.clone()).prop_map(|(size, align_log2, range)| Op::Alloc { size, align_log2, range }),
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
    (0..64u8).rev().find(|&k| {
        let x = align_up(base as u128, k);
        x + (1u128 << k) <= base as u128 + size as u128
    }).unwrap()
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
        if i < SPACE as u128 { self.bytes[i as usize] } else { Byte::Unmanaged }
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
            let is_sure = (b.size as u128) >= size as u128 + (1u128 << align_log2) - 1 || order(b.base, b.size) >= sure_order;
            if inside && !is_sure { None } else { fit(b) }
        });
        sure.or_else(|| free.iter().find_map(fit))
    }
}

fn run(offset: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut a = Alloc::new_boxed();
    let mut m = Model::new(offset);
    for op in ops {
        match op {
            Op::AddRange(b, s) => {
                // inside the space (at the top of u64 its end may wrap)
                let b = b % SPACE;
                let s = s.min(SPACE - b);
                let abs = m.abs(b);
                let want = m.add_range(abs, s);
                prop_assert_eq!(a.add_range(abs, s), want, "add_range({:#x}, {})", abs, s);
            }
            Op::RemoveRange(b, s) => {
                let abs = m.abs(b);
                let want = m.remove_range(abs, s);
                prop_assert_eq!(a.remove_range(abs, s), want, "remove_range({:#x}, {})", abs, s);
            }
            Op::Alloc { size, align_log2, range } => {
                let (lo, hi) = match range {
                    Some((l, h)) => (offset.saturating_add(l), offset.saturating_add(h)),
                    None => (0, u64::MAX),
                };
                let range = range.map(|_| (lo, hi));
                let got = a.alloc(size, align_log2, range);
                if lo >= hi {
                    prop_assert_eq!(got, Err(RangeError::InvalidArgument));
                    continue;
                }
                let want = m.policy_pick(size, align_log2, lo, hi);
                match (got, want) {
                    (Ok(x), Some(w)) => {
                        prop_assert_eq!(x, w, "policy: alloc({}, {}, {:?})", size, align_log2, range);
                        let (b, e) = m.rel(x, size);
                        prop_assert!(m.allocatable(b, e));
                        prop_assert_eq!(x % (1u64 << align_log2), 0);
                        prop_assert!(x >= lo && x as u128 + size as u128 <= hi as u128);
                        m.take(b, size);
                    }
                    (Err(RangeError::NoFit), None) => {}
                    (got, want) => prop_assert!(false, "alloc({}, {}, {:?}) = {:?}, model {:?}", size, align_log2, range, got, want),
                }
            }
            Op::AllocAddr(b, s) => {
                let abs = m.abs(b);
                let got = a.alloc_addr(abs, s);
                let want = if Model::wraps(abs, s) {
                    Err(RangeError::InvalidArgument)
                } else {
                    let (rb, re) = m.rel(abs, s);
                    if m.allocatable(rb, re) {
                        m.take(rb, s);
                        Ok(())
                    } else if (rb..re).any(|i| matches!(m.byte(i), Byte::Used(_))) {
                        Err(RangeError::Overlap)
                    } else {
                        Err(RangeError::NoFit)
                    }
                };
                prop_assert_eq!(got, want, "alloc_addr({:#x}, {})", abs, s);
            }
            Op::Free { pick, addr, random } => {
                let starts: Vec<u64> = (0..SPACE).filter(|&i| m.bytes[i as usize] == Byte::Used(i)).collect();
                let rel = if random || starts.is_empty() { addr } else { starts[pick.index(starts.len())] };
                let abs = m.abs(rel);
                let want = if rel < SPACE && m.bytes[rel as usize] == Byte::Used(rel) {
                    let size = m.used_size[rel as usize];
                    m.mark(rel as u128, (rel + size) as u128, Byte::Free);
                    Ok(size)
                } else {
                    Err(RangeError::NotFound)
                };
                prop_assert_eq!(a.free(abs), want, "free({:#x})", abs);
            }
            Op::AddBoundary(x) => {
                let abs = m.abs(x);
                let want = if m.boundaries.contains(&abs) {
                    Ok(())
                } else if m.boundaries.len() == BOUNDARIES {
                    Err(RangeError::OutOfMetadata)
                } else if x < SPACE && matches!(m.bytes[x as usize], Byte::Used(s) if s < x) {
                    Err(RangeError::Overlap)
                } else {
                    m.boundaries.push(abs);
                    Ok(())
                };
                prop_assert_eq!(a.add_boundary(abs), want, "add_boundary({:#x})", abs);
            }
        }
        a.check_invariants().map_err(TestCaseError::fail)?;
        let blocks = m.blocks();
        prop_assert_eq!(a.iter().collect::<Vec<_>>(), blocks.clone());
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

    #[test]
    fn agrees_with_byte_map(offset in offset(), ops in prop::collection::vec(op(), 1..80)) {
        run(offset, ops)?;
    }
}
