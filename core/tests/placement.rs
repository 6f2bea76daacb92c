//! Placement against the kernel model.

mod common;

use common::*;
#[test]
#[should_panic(expected = "pool and kernel disagree")]
fn a_wrong_mirror_is_caught_at_the_invocation() {
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 14, is_device: false }];
    let (k, mut p) = setup(&boot, 64, 64);
    let mut k = Checked::new(k);
    let x = p.place(&mut k, T::Frame4K, 0, 0x1000).unwrap();
    k.assert_all_compared();
    // The kernel keeps the frame while the pool records the leaf as empty.
    k.skip_revokes = true;
    let _ = p.release(&mut k, x.node);
}

const B: u64 = 0x10_0000;

#[test]
fn seed_case_gap_is_used() {
    // An 8 KiB untyped: CNode 1 KiB at 0x0, CNode 2 KiB at 0x800, 4 KiB page at 0x1000, then a
    // 1 KiB CNode must land in the gap at 0x400 (plain FreeIndex placement fails there:
    // kernel_model::tests::seed_case_freeindex_placement_fails).
    let boot = [UntypedDesc { slot: Slot(1), paddr: B, size_bits: 13, is_device: false }];
    let (mut k, mut p) = setup(&boot, 64, 64);
    let a = p.place(&mut k, T::CNode, 5, B).unwrap();
    let b = p.place(&mut k, T::CNode, 6, B + 0x800).unwrap();
    let c = p.place(&mut k, T::Frame4K, 0, B + 0x1000).unwrap();
    let d = p.place(&mut k, T::CNode, 5, B + 0x400).unwrap();
    assert_eq!(k.inner.object_at(a.slot), Some((T::CNode, B, 10)));
    assert_eq!(k.inner.object_at(b.slot), Some((T::CNode, B + 0x800, 11)));
    assert_eq!(k.inner.object_at(c.slot), Some((T::Frame4K, B + 0x1000, 12)));
    assert_eq!(k.inner.object_at(d.slot), Some((T::CNode, B + 0x400, 10)));
    check_mirror(&p, &k.inner);
    check_no_overlap(&k.inner);
    // Splits: 8K -> 4K (1), lower 4K -> 2K (1), lower 2K -> 1K (1); 4 objects.
    assert_eq!(k.counts, InvocationCounts { retypes: 7, deletes: 0, revokes: 0 });
    // Everything freed: the whole 8 KiB is one block again.
    for x in [a, b, c, d] {
        p.release(&mut k, x.node).unwrap();
    }
    let all = p.place(&mut k, T::Untyped, 13, B).unwrap();
    assert_eq!(k.inner.object_at(all.slot), Some((T::Untyped, B, 13)));
    check_mirror(&p, &k.inner);
}

#[test]
fn churn_of_one_size_costs_one_invocation_per_op() {
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 20, is_device: false }];
    let (mut k, mut p) = setup(&boot, 256, 256);
    let x = p.place(&mut k, T::Frame4K, 0, 0x5000).unwrap();
    p.release(&mut k, x.node).unwrap();
    let before = k.counts;
    for _ in 0..100 {
        let x = p.place(&mut k, T::Frame4K, 0, 0x5000).unwrap();
        assert_eq!(k.inner.object_at(x.slot), Some((T::Frame4K, 0x5000, 12)));
        p.release(&mut k, x.node).unwrap();
    }
    let d = InvocationCounts {
        retypes: k.counts.retypes - before.retypes,
        deletes: k.counts.deletes - before.deletes,
        revokes: k.counts.revokes - before.revokes,
    };
    assert_eq!(d, InvocationCounts { retypes: 100, deletes: 0, revokes: 100 });
    check_mirror(&p, &k.inner);
}

#[test]
fn merge_revokes_a_free_subtree_once() {
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 16, is_device: false }];
    let (mut k, mut p) = setup(&boot, 256, 256);
    let xs: Vec<Placement> = (0..4).map(|i| p.place(&mut k, T::Endpoint, 0, 0x8000 + 16 * i).unwrap()).collect();
    for x in &xs {
        p.release(&mut k, x.node).unwrap();
    }
    let before = k.counts;
    let big = p.place(&mut k, T::Untyped, 15, 0x8000).unwrap();
    // One revoke of the upper 32 KiB node, one retype.
    assert_eq!(k.counts.revokes - before.revokes, 1);
    assert_eq!(k.counts.retypes - before.retypes, 1);
    assert_eq!(k.inner.object_at(big.slot), Some((T::Untyped, 0x8000, 15)));
    assert_eq!(p.stats.merges, 1);
    check_mirror(&p, &k.inner);
}

#[test]
fn busy_blocks_and_bad_requests_are_refused_without_invocations() {
    let boot = [
        UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 16, is_device: false },
        UntypedDesc { slot: Slot(2), paddr: 0xfe00_0000, size_bits: 21, is_device: true },
    ];
    let (mut k, mut p) = setup(&boot, 256, 256);
    let x = p.place(&mut k, T::Tcb, 0, 0x800).unwrap();
    let before = k.counts;
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0x0), Err(PlaceError::Busy(parent_hint(x.node, &p))));
    assert!(matches!(p.place(&mut k, T::Endpoint, 0, 0x810), Err(PlaceError::Busy(_))));
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0x800), Err(PlaceError::Invalid(KernelError::AlignmentError)));
    assert_eq!(
        p.place(&mut k, T::CNode, 0, 0x1000),
        Err(PlaceError::Invalid(KernelError::InvalidArgument { which: 1 }))
    );
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0x20000), Err(PlaceError::NotCovered));
    assert_eq!(p.place(&mut k, T::Untyped, 17, 0), Err(PlaceError::NotCovered));
    // Device memory: frames yes, kernel objects no (untyped.c:decodeUntypedInvocation).
    assert_eq!(
        p.place(&mut k, T::Tcb, 0, 0xfe00_0000),
        Err(PlaceError::Invalid(KernelError::InvalidArgument { which: 1 }))
    );
    assert_eq!(k.counts, before);
    let f = p.place(&mut k, T::Frame2M, 0, 0xfe00_0000).unwrap();
    assert_eq!(
        k.inner.cap(f.slot),
        Some(ModelCap::Object { ty: T::Frame2M, paddr: 0xfe00_0000, bits: 21, is_device: true })
    );
    check_mirror(&p, &k.inner);
}

/// The node that blocks a 4 KiB placement at 0 while a TCB lives at 0x800: the 4 KiB node.
fn parent_hint(node: NodeId, p: &TestPlacer) -> NodeId {
    let mut id = node;
    while p.pool.info(id).bits < 12 {
        id = p.pool.info(id).parent.unwrap();
    }
    id
}

#[test]
fn capacity_errors_leave_state_consistent() {
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 20, is_device: false }];
    // Cap space of 5 slots: runs out of pairs after two of the eight splits.
    let (mut k, mut p) = setup(&boot, FIRST_FREE as usize + 5, 256);
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0), Err(PlaceError::Capacity(Capacity::CapSlots)));
    check_mirror(&p, &k.inner);
    // Pool arena too small.
    let (mut k, mut p) = setup(&boot, 256, 4);
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0), Err(PlaceError::Capacity(Capacity::PoolNodes)));
    check_mirror(&p, &k.inner);
}

#[test]
fn kernel_refusal_leaves_pool_mirroring_kernel() {
    // A kernel that refuses the object retype after splits succeeded.
    struct FailObjects(Model);
    impl Kernel for FailObjects {
        fn untyped_retype(&mut self, u: Slot, ty: ObjectType, sb: u8, d: Slot, n: u32) -> Result<(), KernelError> {
            if ty != T::Untyped {
                return Err(KernelError::NotEnoughMemory { bytes_available: 0 });
            }
            self.0.untyped_retype(u, ty, sb, d, n)
        }
        fn cnode_delete(&mut self, s: Slot) -> Result<(), KernelError> {
            self.0.cnode_delete(s)
        }
        fn cnode_revoke(&mut self, s: Slot) -> Result<(), KernelError> {
            self.0.cnode_revoke(s)
        }
    }
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 14, is_device: false }];
    let (k, mut p) = setup(&boot, 64, 64);
    let mut k = FailObjects(k.inner);
    assert_eq!(
        p.place(&mut k, T::Frame4K, 0, 0x1000),
        Err(PlaceError::Kernel(KernelError::NotEnoughMemory { bytes_available: 0 }))
    );
    check_mirror(&p, &k.0);
    assert_eq!(p.stats.splits, 2);
}

#[test]
fn revoke_free_removes_client_copies() {
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 14, is_device: false }];
    let (mut k, mut p) = setup(&boot, 64, 64);
    let x = p.place(&mut k, T::Frame4K, 0, 0x1000).unwrap();
    k.inner.cnode_copy(x.slot, Slot(63)).unwrap();
    p.release(&mut k, x.node).unwrap();
    assert_eq!(k.inner.cap(Slot(63)), Some(ModelCap::Empty));
    let y = p.place(&mut k, T::Frame4K, 0, 0x1000).unwrap();
    assert_eq!(k.inner.object_at(y.slot), Some((T::Frame4K, 0x1000, 12)));
    // Delete mode with a client copy: the leaf stays busy and the kernel refuses the next
    // placement there, which is why Revoke is the default.
    p.free_mode = FreeMode::Delete;
    k.inner.cnode_copy(y.slot, Slot(63)).unwrap();
    p.release(&mut k, y.node).unwrap();
    assert!(matches!(
        p.place(&mut k, T::Frame4K, 0, 0x1000),
        Err(PlaceError::Kernel(KernelError::NotEnoughMemory { .. }))
    ));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        /// Place type `ty` (index into the menu) at block `pick` (scaled into the root).
        Place {
            ty: usize,
            radix: u8,
            pick: u64,
        },
        Free(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..T::ALL.len(), 1u8..8, any::<u64>()).prop_map(|(ty, radix, pick)| Op::Place { ty, radix, pick }),
            2 => any::<usize>().prop_map(Op::Free),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
        /// Any free aligned block is placeable; a block overlapping a live object is reported
        /// Busy without invocations; the pool mirrors the model; everything merges back.
        #[test]
        fn placement_follows_the_ideal_allocator(ops in proptest::collection::vec(op(), 1..150)) {
            let boot = [
                UntypedDesc { slot: Slot(1), paddr: 0x20_0000, size_bits: 21, is_device: false },
                UntypedDesc { slot: Slot(2), paddr: 0x40_0000, size_bits: 17, is_device: false },
            ];
            let (mut k, mut p) = setup(&boot, 2048, 2048);
            let mut live: BTreeMap<u64, (u64, Placement)> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Place { ty, radix, pick } => {
                        let t = T::ALL[ty];
                        let sb = match t { T::Untyped => radix + 3, T::CNode => radix, _ => 0 };
                        let bits = t.object_bits(sb).unwrap();
                        let root = boot[(pick & 1) as usize];
                        if bits > root.size_bits { continue; }
                        let blocks = 1u64 << (root.size_bits - bits);
                        let addr = root.paddr + (((pick >> 1) % blocks) << bits);
                        let end = addr + (1 << bits);
                        let overlaps = live.range(..end).next_back().is_some_and(|(_, (e, _))| *e > addr);
                        let before = k.counts;
                        let mut ck = Checked::new(&mut k);
                        let r = p.place(&mut ck, t, sb, addr);
                        ck.assert_all_compared();
                        let compared = ck.compared;
                        prop_assert!(compared >= k.counts.retypes + k.counts.revokes - before.retypes - before.revokes);
                        if overlaps {
                            prop_assert!(matches!(r, Err(PlaceError::Busy(_))), "{:?}", r);
                            prop_assert_eq!(k.counts, before);
                        } else {
                            let x = r.unwrap();
                            prop_assert_eq!(k.inner.object_at(x.slot), Some((t, addr, bits)));
                            live.insert(addr, (end, x));
                        }
                    }
                    Op::Free(i) => {
                        if live.is_empty() { continue; }
                        let key = *live.keys().nth(i % live.len()).unwrap();
                        let (_, x) = live.remove(&key).unwrap();
                        let mut ck = Checked::new(&mut k);
                        p.release(&mut ck, x.node).unwrap();
                        ck.assert_all_compared();
                        prop_assert_eq!(ck.compared, 1, "the revoked leaf's watermark");
                        prop_assert_eq!(k.inner.cap(x.slot), Some(ModelCap::Empty));
                    }
                }
                check_mirror(&p, &k.inner);
                check_no_overlap(&k.inner);
            }
            let mut ck = Checked::new(&mut k);
            for (_, (_, x)) in live {
                p.release(&mut ck, x.node).unwrap();
            }
            // Full reuse: each root takes a retype of its full size again.
            for r in boot {
                let x = p.place(&mut ck, T::Untyped, r.size_bits, r.paddr).unwrap();
                prop_assert_eq!(ck.inner.inner.object_at(x.slot), Some((T::Untyped, r.paddr, r.size_bits)));
            }
            ck.assert_all_compared();
            check_mirror(&p, &k.inner);
            prop_assert_eq!(p.pool.nodes_in_use(), 2);
        }
    }
}

#[test]
fn compact_leaves_only_the_splits_live_objects_need() {
    let boot = [
        UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 20, is_device: false },
        UntypedDesc { slot: Slot(2), paddr: 1 << 20, size_bits: 20, is_device: false },
    ];
    // The same live object placed on a fresh pool: the splits it needs and no more.
    let (mut k0, mut fresh) = setup(&boot, 256, 256);
    fresh.place(&mut k0, T::Frame4K, 0, 0x7000).unwrap();
    let (mut k, mut p) = setup(&boot, 256, 256);
    let mut others = Vec::new();
    for (i, addr) in [0x1000u64, 0x2000, 0x40000, 0x8_0000, 0x10_0000, 0x18_0000].into_iter().enumerate() {
        let ty = if i % 2 == 0 { T::Frame4K } else { T::Tcb };
        others.push(p.place(&mut k, ty, 0, addr).unwrap());
    }
    let kept = p.place(&mut k, T::Frame4K, 0, 0x7000).unwrap();
    for x in others {
        p.release(&mut k, x.node).unwrap();
    }
    assert!(p.pool.nodes_in_use() > fresh.pool.nodes_in_use(), "freed leaves stay split until compacted");
    let merges = p.compact(&mut k).unwrap();
    assert!(merges > 0);
    assert_eq!(p.pool.nodes_in_use(), fresh.pool.nodes_in_use());
    assert_eq!(p.caps.free_slots(), fresh.caps.free_slots());
    assert_eq!(k.inner.object_at(kept.slot), Some((T::Frame4K, 0x7000, 12)));
    check_mirror(&p, &k.inner);
    // Nothing more to merge; the second root is one free leaf again.
    assert_eq!(p.compact(&mut k).unwrap(), 0);
    let whole = p.place(&mut k, T::Untyped, 20, 1 << 20).unwrap();
    assert_eq!(k.inner.object_at(whole.slot), Some((T::Untyped, 1 << 20, 20)));
}
