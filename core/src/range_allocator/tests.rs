//! Unit tests of every operation and error path.

use super::{ArrayRangeAllocator, Block, Node, RangeAllocator, RangeError, Slab};
use std::vec;
use std::vec::Vec;

extern crate std;

type A = ArrayRangeAllocator<64, 8>;

fn blocks<S: Slab<Node>, const B: usize>(a: &RangeAllocator<S, B>) -> Vec<(u64, u64, bool)> {
    a.iter().map(|b| (b.base, b.size, b.used)).collect()
}

fn ok<S: Slab<Node>, const B: usize>(a: &RangeAllocator<S, B>) {
    a.check_invariants().unwrap();
}

#[test]
fn empty_allocator() {
    let a = A::new();
    assert_eq!(a.len(), 0);
    assert!(a.is_empty());
    // 64 buckets of the used table fill 8 of the 64 nodes
    assert_eq!(a.capacity(), 56);
    assert_eq!(a.avail(), 0);
    assert_eq!(a.largest_free(), 0);
    assert_eq!(a.largest_aligned_free_log2(), None);
    assert_eq!(a.iter().count(), 0);
    ok(&a);
}

#[test]
fn add_range_merges_with_free_neighbours() {
    let mut a = A::new();
    a.add_range(0x1000, 0x1000).unwrap();
    a.add_range(0x3000, 0x1000).unwrap();
    assert_eq!(blocks(&a), [(0x1000, 0x1000, false), (0x3000, 0x1000, false)]);
    a.add_range(0x2000, 0x1000).unwrap();
    assert_eq!(blocks(&a), [(0x1000, 0x3000, false)]);
    a.add_range(0x4000, 0x10).unwrap();
    a.add_range(0x800, 0x800).unwrap();
    assert_eq!(blocks(&a), [(0x800, 0x3810, false)]);
    assert_eq!(a.avail(), 0x3810);
    assert_eq!(a.largest_free(), 0x3810);
    assert_eq!(a.largest_aligned_free_log2(), Some(13));
    ok(&a);
}

#[test]
fn add_range_does_not_merge_with_used_neighbours() {
    let mut a = A::new();
    a.add_range(0x1000, 0x1000).unwrap();
    a.alloc_addr(0x1000, 0x1000).unwrap();
    a.add_range(0x2000, 0x1000).unwrap();
    assert_eq!(blocks(&a), [(0x1000, 0x1000, true), (0x2000, 0x1000, false)]);
    ok(&a);
}

#[test]
fn add_range_errors() {
    let mut a = A::new();
    assert_eq!(a.add_range(0, 0), Err(RangeError::InvalidArgument));
    assert_eq!(a.add_range(u64::MAX, 1), Err(RangeError::InvalidArgument));
    a.add_range(0x1000, 0x1000).unwrap();
    a.alloc_addr(0x1800, 0x100).unwrap();
    let before = blocks(&a);
    assert_eq!(a.add_range(0x1fff, 2), Err(RangeError::Overlap));
    assert_eq!(a.add_range(0, 0x1001), Err(RangeError::Overlap));
    assert_eq!(a.add_range(0x1800, 1), Err(RangeError::Overlap));
    assert_eq!(a.add_range(0, u64::MAX), Err(RangeError::Overlap));
    assert_eq!(blocks(&a), before);
    // the last address below 2^64 is usable
    a.add_range(u64::MAX - 0x1000, 0x1000).unwrap();
    ok(&a);
}

#[test]
fn add_range_out_of_metadata_only_when_a_node_is_needed() {
    // 4 nodes: two blocks and their two extents
    let mut a = ArrayRangeAllocator::<5, 4>::new();
    assert_eq!(a.capacity(), 4);
    a.add_range(0, 0x100).unwrap();
    a.add_range(0x200, 0x100).unwrap();
    assert_eq!((a.len(), a.extents()), (2, 2));
    assert_eq!(a.add_range(0x400, 0x100), Err(RangeError::OutOfMetadata));
    assert_eq!(a.len(), 2);
    // merging needs no new node, merging on both sides frees one block and one extent
    a.add_range(0x300, 0x80).unwrap();
    a.add_range(0x100, 0x100).unwrap();
    assert_eq!(blocks(&a), [(0, 0x380, false)]);
    assert_eq!((a.len(), a.extents()), (1, 1));
    ok(&a);
}

#[test]
fn remove_range_cuts_free_blocks() {
    let mut a = A::new();
    a.add_range(0x0, 0x1000).unwrap();
    a.add_range(0x2000, 0x1000).unwrap();
    a.add_range(0x4000, 0x1000).unwrap();
    a.remove_range(0x800, 0x4000).unwrap();
    assert_eq!(blocks(&a), [(0, 0x800, false), (0x4800, 0x800, false)]);
    assert_eq!(a.avail(), 0x1000);
    // split in the middle
    a.remove_range(0x100, 0x100).unwrap();
    assert_eq!(blocks(&a), [(0, 0x100, false), (0x200, 0x600, false), (0x4800, 0x800, false)]);
    // unmanaged parts are ignored
    a.remove_range(0x10000, 0x1000).unwrap();
    a.remove_range(0, 0x100).unwrap();
    assert_eq!(blocks(&a), [(0x200, 0x600, false), (0x4800, 0x800, false)]);
    assert_eq!(a.avail(), 0xe00);
    ok(&a);
}

#[test]
fn remove_range_errors() {
    let mut a = A::new();
    assert_eq!(a.remove_range(0, 0), Err(RangeError::InvalidArgument));
    assert_eq!(a.remove_range(1, u64::MAX), Err(RangeError::InvalidArgument));
    a.add_range(0, 0x3000).unwrap();
    a.alloc_addr(0x1000, 0x1000).unwrap();
    let before = blocks(&a);
    assert_eq!(a.remove_range(0x800, 0x1000), Err(RangeError::Overlap));
    assert_eq!(a.remove_range(0, 0x3000), Err(RangeError::Overlap));
    assert_eq!(blocks(&a), before);
    // a block and its extent fill the 2 nodes; a cut in the middle splits both
    let mut b = ArrayRangeAllocator::<3, 1>::new();
    b.add_range(0, 0x3000).unwrap();
    assert_eq!(b.remove_range(0x1000, 0x1000), Err(RangeError::OutOfMetadata));
    assert_eq!(blocks(&b), [(0, 0x3000, false)]);
    // a cut at one edge needs no node
    b.remove_range(0, 0x1000).unwrap();
    assert_eq!(blocks(&b), [(0x1000, 0x2000, false)]);
    ok(&a);
    ok(&b);
}

#[test]
fn alloc_aligned_first_fit() {
    let mut a = A::new();
    a.add_range(0x10, 0x3ff0).unwrap();
    assert_eq!(a.alloc(0x1000, 12, None), Ok(0x1000));
    assert_eq!(blocks(&a), [(0x10, 0xff0, false), (0x1000, 0x1000, true), (0x2000, 0x2000, false)]);
    assert_eq!(a.alloc(0x10, 4, None), Ok(0x10));
    assert_eq!(a.alloc(0x20, 0, None), Ok(0x20));
    assert_eq!(a.avail(), 0x4000 - 0x10 - 0x1000 - 0x30);
    assert_eq!(a.alloc(0x2000, 13, None), Ok(0x2000));
    assert_eq!(a.alloc(0x1000, 12, None), Err(RangeError::NoFit));
    ok(&a);
}

#[test]
fn alloc_prefers_sure_fit_then_exact_fit() {
    let mut a = A::new();
    // [0x100, 0x300) fits 0x180 bytes aligned to 0x100 (at 0x100), but only
    // by checking its base: it is not a sure fit.
    a.add_range(0x100, 0x200).unwrap();
    a.add_range(0x1000, 0x1000).unwrap();
    // 0x1000 block surely fits (len >= 0x180 + 0xff), taken first
    assert_eq!(a.alloc(0x180, 8, None), Ok(0x1000));
    let mut b = A::new();
    b.add_range(0x180, 0x1f0).unwrap(); // near miss: aligned 0x100 at 0x200, 0x200+0x180 > 0x370
    b.add_range(0x1100, 0x180).unwrap(); // exact fit only
    assert_eq!(b.alloc(0x180, 8, None), Ok(0x1100));
    assert_eq!(b.alloc(0x180, 8, None), Err(RangeError::NoFit));
    ok(&a);
    ok(&b);
}

#[test]
fn alloc_in_constraint_range() {
    let mut a = A::new();
    a.add_range(0, 0x10000).unwrap();
    assert_eq!(a.alloc(0x1000, 12, Some((0x3800, 0x5000))), Ok(0x4000));
    assert_eq!(a.alloc(0x1000, 12, Some((0x3800, 0x5000))), Err(RangeError::NoFit));
    assert_eq!(a.alloc(0x800, 0, Some((0x3800, 0x5000))), Ok(0x3800));
    assert_eq!(a.alloc(0x10, 0, Some((0xfff0, u64::MAX))), Ok(0xfff0));
    assert_eq!(a.alloc(0x10, 0, Some((0x20000, u64::MAX))), Err(RangeError::NoFit));
    ok(&a);
}

#[test]
fn alloc_errors() {
    let mut a = A::new();
    assert_eq!(a.alloc(0x10, 0, None), Err(RangeError::NoFit));
    a.add_range(0, 0x1000).unwrap();
    assert_eq!(a.alloc(0, 0, None), Err(RangeError::InvalidArgument));
    assert_eq!(a.alloc(1, 64, None), Err(RangeError::InvalidArgument));
    assert_eq!(a.alloc(1, 0, Some((5, 5))), Err(RangeError::InvalidArgument));
    assert_eq!(a.alloc(1, 0, Some((6, 5))), Err(RangeError::InvalidArgument));
    assert_eq!(a.alloc(0x1001, 0, None), Err(RangeError::NoFit));
    assert_eq!(a.alloc(u64::MAX, 63, None), Err(RangeError::NoFit));
    // a block and its extent, and room for two more
    let mut b = ArrayRangeAllocator::<5, 1>::new();
    b.add_range(0, 0x1000).unwrap();
    // needs two nodes (leading and trailing rest)
    assert_eq!(b.alloc(0x100, 8, Some((0x100, 0x1000))), Ok(0x100));
    let before = blocks(&b);
    assert_eq!(b.alloc(0x100, 8, Some((0x300, 0x1000))), Err(RangeError::OutOfMetadata));
    assert_eq!(blocks(&b), before);
    ok(&b);
}

#[test]
fn alloc_addr_places_exactly() {
    let mut a = A::new();
    a.add_range(0, 0x2000).unwrap();
    a.alloc_addr(0x400, 0x400).unwrap();
    a.alloc_addr(0, 0x400).unwrap();
    a.alloc_addr(0x1c00, 0x400).unwrap();
    assert_eq!(blocks(&a), [(0, 0x400, true), (0x400, 0x400, true), (0x800, 0x1400, false), (0x1c00, 0x400, true)]);
    assert_eq!(a.alloc_addr(0x7ff, 2), Err(RangeError::Overlap));
    assert_eq!(a.alloc_addr(0x1bff, 2), Err(RangeError::Overlap));
    assert_eq!(a.alloc_addr(0x2000, 1), Err(RangeError::NoFit));
    assert_eq!(a.alloc_addr(0x800, 0), Err(RangeError::InvalidArgument));
    assert_eq!(a.alloc_addr(u64::MAX, 2), Err(RangeError::InvalidArgument));
    ok(&a);
}

#[test]
fn free_merges_and_reports_size() {
    let mut a = A::new();
    a.add_range(0, 0x3000).unwrap();
    a.alloc_addr(0, 0x1000).unwrap();
    a.alloc_addr(0x1000, 0x1000).unwrap();
    a.alloc_addr(0x2000, 0x1000).unwrap();
    assert_eq!(a.free(0x1000), Ok(0x1000));
    assert_eq!(a.free(0x1000), Err(RangeError::NotFound));
    assert_eq!(a.free(0x1800), Err(RangeError::NotFound));
    assert_eq!(a.free(0x5000), Err(RangeError::NotFound));
    assert_eq!(a.free(0), Ok(0x1000));
    assert_eq!(blocks(&a), [(0, 0x2000, false), (0x2000, 0x1000, true)]);
    assert_eq!(a.free(0x2000), Ok(0x1000));
    assert_eq!(blocks(&a), [(0, 0x3000, false)]);
    assert_eq!(a.len(), 1);
    ok(&a);
}

#[test]
fn canonical_gap_case() {
    // CNode 1 KiB, CNode 2 KiB, page 4 KiB in 8 KiB: the next 1 KiB CNode fits the gap.
    let mut a = A::new();
    a.add_range(0, 0x2000).unwrap();
    assert_eq!(a.alloc(0x400, 10, None), Ok(0));
    assert_eq!(a.alloc(0x800, 11, None), Ok(0x800));
    assert_eq!(a.alloc(0x1000, 12, None), Ok(0x1000));
    assert_eq!(a.alloc(0x400, 10, None), Ok(0x400));
    assert_eq!(a.avail(), 0);
    ok(&a);
}

#[test]
fn boundaries_split_and_block_merging() {
    let mut a = A::new();
    a.add_range(0, 0x4000).unwrap();
    a.add_boundary(0x1000).unwrap();
    a.add_boundary(0x1000).unwrap();
    assert_eq!(a.boundaries(), [0x1000]);
    assert_eq!(blocks(&a), [(0, 0x1000, false), (0x1000, 0x3000, false)]);
    a.add_boundary(0x3000).unwrap();
    a.add_range(0x4000, 0x1000).unwrap();
    a.add_boundary(0x6000).unwrap();
    a.add_range(0x5000, 0x2000).unwrap();
    assert_eq!(
        blocks(&a),
        [(0, 0x1000, false), (0x1000, 0x2000, false), (0x3000, 0x3000, false), (0x6000, 0x1000, false)]
    );
    // no allocation spans a boundary
    assert_eq!(a.alloc(0x4000, 14, None), Err(RangeError::NoFit));
    assert_eq!(a.alloc_addr(0x2000, 0x2000), Err(RangeError::NoFit));
    assert_eq!(a.alloc(0x2000, 13, None), Ok(0x4000));
    a.alloc_addr(0x0, 0x1000).unwrap();
    a.alloc_addr(0x1000, 0x1000).unwrap();
    a.free(0x1000).unwrap();
    a.free(0).unwrap();
    assert_eq!(blocks(&a)[..2], [(0, 0x1000, false), (0x1000, 0x2000, false)]);
    ok(&a);
}

#[test]
fn boundary_errors() {
    // room for three blocks and their extent
    let mut a = ArrayRangeAllocator::<5, 2>::new();
    a.add_range(0, 0x3000).unwrap();
    a.alloc_addr(0x1000, 0x1000).unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a.add_boundary(0x1800), Err(RangeError::Overlap));
    assert_eq!(a.add_boundary(0x800), Err(RangeError::OutOfMetadata));
    a.add_boundary(0x1000).unwrap(); // at a block start: no split
    a.add_boundary(0x5000).unwrap();
    assert_eq!(a.add_boundary(0x6000), Err(RangeError::OutOfMetadata));
    assert_eq!(a.boundaries(), [0x1000, 0x5000]);
    // room for four blocks and their extent
    let mut b = ArrayRangeAllocator::<6, 4>::new();
    b.add_boundary(0x1000).unwrap();
    b.add_boundary(0x2000).unwrap();
    b.add_boundary(0x3000).unwrap();
    // 4 pieces, but only when all fit
    b.add_range(0x1000, 0x2000).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(b.add_range(0x800, 0x3000), Err(RangeError::Overlap));
    assert_eq!(b.add_range(0x3000, 0x1000), Ok(()));
    assert_eq!(b.add_range(0x0, 0x1000), Ok(()));
    assert_eq!(b.add_range(0x5000, 0x1000), Err(RangeError::OutOfMetadata));
    // merging with the free block below needs no node
    assert_eq!(b.add_range(0x4000, 0x1000), Ok(()));
    ok(&a);
    ok(&b);
}

#[test]
fn block_containing_and_iter() {
    let mut a = A::new();
    a.add_range(0x100, 0x100).unwrap();
    a.alloc_addr(0x180, 0x10).unwrap();
    assert_eq!(a.block_containing(0x185), Some(Block { base: 0x180, size: 0x10, used: true }));
    assert_eq!(a.block_containing(0x100), Some(Block { base: 0x100, size: 0x80, used: false }));
    assert_eq!(a.block_containing(0x200), None);
    assert_eq!(a.iter().map(|b| b.end()).collect::<Vec<_>>(), [0x180, 0x190, 0x200]);
}

#[test]
fn many_blocks_stay_balanced() {
    let mut a = ArrayRangeAllocator::<4096>::new_boxed();
    a.add_range(0, 1 << 24).unwrap();
    let mut addrs = Vec::new();
    for i in 0..2000u64 {
        let size = 0x10 << (i % 7);
        addrs.push(a.alloc(size, (4 + i % 7) as u8, None).unwrap());
    }
    a.check_invariants().unwrap();
    for (i, addr) in addrs.iter().enumerate() {
        if i % 3 != 0 {
            a.free(*addr).unwrap();
        }
    }
    a.check_invariants().unwrap();
    for (i, addr) in addrs.iter().enumerate() {
        if i % 3 == 0 {
            a.free(*addr).unwrap();
        }
    }
    a.check_invariants().unwrap();
    assert_eq!(blocks(&*a), [(0, 1 << 24, false)]);
}

#[test]
fn huge_capacity_on_heap() {
    // 2^21 nodes: too big for the stack, fine zeroed on the heap.
    let mut a = ArrayRangeAllocator::<{ 1 << 21 }>::new_boxed();
    let cap = a.capacity();
    // the used table takes an eighth of the slab at most
    assert!(cap >= (1 << 21) - (1 << 18));
    a.add_range(0, 1 << 40).unwrap();
    let mut i = 0;
    while a.alloc_addr(i << 12, 0x800).is_ok() {
        i += 1;
    }
    // each of those took two nodes (used block and trailing rest): at most one is left
    assert!(a.len() + a.extents() >= cap - 1);
    assert_eq!(a.alloc_addr(1 << 32, 0x10), Err(RangeError::OutOfMetadata));
    // an allocation at the start of a free block takes one node
    while a.len() + a.extents() < cap {
        a.alloc(0x10, 4, None).unwrap();
    }
    assert_eq!(a.alloc(0x10, 4, None), Err(RangeError::OutOfMetadata));
    // freeing merges three free blocks into one, giving back two nodes
    assert_eq!(a.free(0x1000), Ok(0x800));
    assert_eq!(a.len() + a.extents(), cap - 2);
    // [0x1000, 0x2000) ends the merged block: one node for the used block
    assert_eq!(a.alloc(0x1000, 12, None), Ok(0x1000));
    assert_eq!(a.len() + a.extents(), cap - 1);
    a.check_invariants().unwrap();
}

#[test]
fn static_instance_is_zero_initialised() {
    static mut STATIC_ALLOC: ArrayRangeAllocator<{ 1 << 16 }> = ArrayRangeAllocator::new();
    // SAFETY: only this test touches the static.
    let a = unsafe { &mut *core::ptr::addr_of_mut!(STATIC_ALLOC) };
    a.add_range(0x1000, 0x1000).unwrap();
    assert_eq!(a.alloc(0x10, 4, None), Ok(0x1000));
    a.check_invariants().unwrap();
}

#[test]
fn node_is_half_a_cache_line() {
    assert_eq!(core::mem::size_of::<super::Node>(), 32);
    assert_eq!(core::mem::align_of::<super::Node>(), 32);
}

/// Long seeded churn over a deep tree (hundreds of blocks, so rebalancing
/// runs at many heights): after every operation the invariants hold, live
/// ranges are disjoint, and `free` reports each range's size.
#[test]
fn random_churn_keeps_invariants() {
    let mut a = ArrayRangeAllocator::<4096, 8>::new_boxed();
    a.add_boundary(0x8_0000).unwrap();
    a.add_range(0, 0x10_0000).unwrap();
    let mut live: Vec<(u64, u64)> = Vec::new();
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut rng = move || {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for step in 0..6000 {
        let r = rng();
        if live.len() > 400 || (!live.is_empty() && r % 5 < 2) {
            let (addr, size) = live.swap_remove((rng() % live.len() as u64) as usize);
            assert_eq!(a.free(addr), Ok(size), "step {step}");
        } else if r % 5 == 2 {
            // an exact address: fails unless the range is free
            let addr = (rng() % 0x10_0000) & !0xf;
            let size = 0x10 << (rng() % 4);
            if a.alloc_addr(addr, size).is_ok() {
                live.push((addr, size));
            }
        } else {
            let k = (rng() % 7) as u8;
            let size = if r % 7 == 0 { 0x30 } else { 0x10 << k };
            if let Ok(addr) = a.alloc(size, 4 + k, None) {
                assert_eq!(addr % (0x10 << k), 0);
                live.push((addr, size));
            }
        }
        a.check_invariants().unwrap();
        let mut sorted = live.clone();
        sorted.sort_unstable();
        assert!(sorted.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
    }
    for (addr, size) in live {
        assert_eq!(a.free(addr), Ok(size));
    }
    a.check_invariants().unwrap();
    assert_eq!(blocks(&*a), [(0, 0x8_0000, false), (0x8_0000, 0x8_0000, false)]);
}

#[test]
fn a_slice_slab_runs_out_at_its_length_and_moves_into_a_larger_one() {
    let mut a: RangeAllocator<Vec<Node>, 8> = RangeAllocator::with_storage(vec![Node::ZERO; 5]).unwrap();
    assert_eq!(a.capacity(), 4);
    a.add_range(0, 0x1000).unwrap();
    a.alloc_addr(0x100, 0x100).unwrap(); // free | used | free: three blocks, one extent
    assert_eq!(a.alloc_addr(0x400, 0x100), Err(RangeError::OutOfMetadata));
    ok(&a);
    assert!(!a.can_move_to(4), "three nodes cannot hold three blocks and an extent");
    assert_eq!(a.replace_storage(vec![Node::ZERO; 4]).map(|v| v.len()).map_err(|v| v.len()), Err(4));
    let old = a.replace_storage(vec![Node::ZERO; 9]).map_err(|v| v.len()).unwrap();
    assert_eq!(old.len(), 5);
    let mut b = a;
    assert_eq!(b.capacity(), 8);
    b.alloc_addr(0x400, 0x100).unwrap();
    ok(&b);
    assert_eq!(
        blocks(&b),
        [(0, 0x100, false), (0x100, 0x100, true), (0x200, 0x200, false), (0x400, 0x100, true), (0x500, 0xb00, false)]
    );
}

#[test]
fn a_copy_into_a_larger_slab_is_the_same_allocator() {
    let mut a = A::new();
    a.add_range(0, 0x10000).unwrap();
    for i in 0..8 {
        a.alloc_addr(i * 0x1000, 0x800).unwrap();
    }
    a.free(0x3000).unwrap();
    let mut big: std::boxed::Box<ArrayRangeAllocator<256, 8>> = RangeAllocator::new_boxed();
    let mut small: std::boxed::Box<ArrayRangeAllocator<4, 8>> = RangeAllocator::new_boxed();
    assert_eq!(a.copy_to(&mut *small), Err(RangeError::OutOfMetadata));
    a.copy_to(&mut *big).unwrap();
    big.check_invariants().unwrap();
    assert_eq!(big.iter().collect::<Vec<_>>(), a.iter().collect::<Vec<_>>());
    assert_eq!((big.avail(), big.len()), (a.avail(), a.len()));
    // Both go on the same way.
    assert_eq!(big.alloc(0x800, 11, None), a.alloc(0x800, 11, None));
    big.check_invariants().unwrap();
}
