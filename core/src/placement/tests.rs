//! Placement against the kernel model.

extern crate std;
use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::kernel::{BootUntyped, Counting, InvocationCounts};
use crate::kernel_model::{KernelModel, ModelCap, ModelSlot};
use crate::object::ObjectType as T;

pub(crate) type Model = KernelModel<Vec<ModelSlot>>;
pub(crate) type TestPlacer = Placer<Vec<PoolNode>, Vec<CapEntry>>;

const FIRST_FREE: u32 = 16;

pub(crate) fn setup(boot: &[BootUntyped], slots: usize, nodes: usize) -> (Counting<Model>, TestPlacer) {
    let k = KernelModel::new(vec![ModelSlot::EMPTY; slots], boot, Slot(FIRST_FREE)).unwrap();
    let pool = UntypedPool::new(vec![PoolNode::EMPTY; nodes], boot).unwrap();
    let caps = CapSpace::new(vec![CapEntry::EMPTY; slots - FIRST_FREE as usize], Slot(FIRST_FREE)).unwrap();
    (Counting::new(k), Placer::new(pool, caps))
}

/// The pool mirrors the model exactly: every node's cap is an untyped of the node's block with
/// the node's watermark and children; every object is where the pool says; nothing else exists.
pub(crate) fn check_mirror(p: &TestPlacer, k: &Model) {
    let mut expected_caps = 0usize;
    for n in p.pool.iter() {
        expected_caps += 1;
        match k.cap(n.slot) {
            Some(ModelCap::Untyped { paddr, size_bits, .. }) => {
                assert_eq!((paddr, size_bits), (n.paddr, n.bits), "node {:?}", n.id);
            }
            other => panic!("node {:?} slot {:?} holds {:?}", n.id, n.slot, other),
        }
        assert_eq!(k.watermark(n.slot), Some(n.watermark), "watermark of node {:?}", n);
        let kids: Vec<Slot> = k.children(n.slot).collect();
        match n.state {
            NodeState::Free => assert!(kids.is_empty(), "free node {:?} has children {:?}", n, kids),
            NodeState::Split => assert_eq!(kids.len(), 2),
            NodeState::Occupied { ty, obj_slot } => {
                expected_caps += 1;
                assert_eq!(kids, vec![obj_slot]);
                assert_eq!(k.object_at(obj_slot), Some((ty, n.paddr, n.bits)), "object of {:?}", n);
            }
            NodeState::Unused => unreachable!(),
        }
    }
    // Boot slots below FIRST_FREE that are not roots are opaque `Other` caps.
    let in_cspace = k.iter().filter(|(s, _)| s.0 >= FIRST_FREE).count();
    let roots = p.pool.num_roots();
    assert_eq!(in_cspace + roots, expected_caps, "caps in the model that the pool does not know");
    assert_eq!(p.caps.capacity() - p.caps.free_slots(), in_cspace, "cap space agrees with the CSpace");
}

/// No two live objects overlap (in the model).
pub(crate) fn check_no_overlap(k: &Model) {
    let mut objs: Vec<(u64, u64)> = k
        .iter()
        .filter_map(|(_, c)| match c {
            ModelCap::Object { paddr, bits, .. } => Some((paddr, paddr + (1u64 << bits))),
            _ => None,
        })
        .collect();
    objs.sort();
    for w in objs.windows(2) {
        assert!(w[0].1 <= w[1].0, "objects overlap: {:?}", w);
    }
}

/// Kernel wrapper that holds placement to its per-invocation check: after every successful
/// invocation, the watermark of the untyped it invoked must be compared with the pool's mirror
/// (placement's `verify` asks [`Kernel::observed_watermark`] and asserts equality) before the
/// next invocation. `CNode_Delete` (of an object cap, not an untyped) is not tracked.
pub(crate) struct Checked<K> {
    pub inner: K,
    /// Untypeds invoked successfully whose watermark placement has not compared yet.
    unchecked: Vec<Slot>,
    /// Watermarks answered for comparison.
    pub compared: u64,
    /// Fault injection: report revokes as done without doing them, so the kernel's state drifts
    /// from the pool's mirror.
    pub skip_revokes: bool,
}

impl<K: Kernel> Checked<K> {
    pub fn new(inner: K) -> Self {
        Checked { inner, unchecked: Vec::new(), compared: 0, skip_revokes: false }
    }

    /// Every untyped invoked so far had its watermark compared.
    pub fn assert_all_compared(&self) {
        assert!(self.unchecked.is_empty(), "untypeds {:?} invoked but not compared with the mirror", self.unchecked);
    }

    fn invoked(&mut self, r: Result<(), KernelError>, untyped: Slot) -> Result<(), KernelError> {
        if r.is_ok() {
            self.unchecked.push(untyped);
        }
        r
    }
}

impl<K: Kernel> Kernel for Checked<K> {
    fn untyped_retype(&mut self, u: Slot, ty: ObjectType, sb: u8, d: Slot, n: u32) -> Result<(), KernelError> {
        self.assert_all_compared();
        let r = self.inner.untyped_retype(u, ty, sb, d, n);
        self.invoked(r, u)
    }
    fn cnode_delete(&mut self, s: Slot) -> Result<(), KernelError> {
        self.assert_all_compared();
        self.inner.cnode_delete(s)
    }
    fn cnode_revoke(&mut self, s: Slot) -> Result<(), KernelError> {
        self.assert_all_compared();
        let r = if self.skip_revokes { Ok(()) } else { self.inner.cnode_revoke(s) };
        self.invoked(r, s)
    }
    fn observed_watermark(&mut self, s: Slot) -> Option<u64> {
        let w = self.inner.observed_watermark(s);
        if w.is_some() {
            self.unchecked.retain(|&x| x != s);
            self.compared += 1;
        }
        w
    }
}

#[test]
#[should_panic(expected = "pool and kernel disagree")]
fn a_wrong_mirror_is_caught_at_the_invocation() {
    let boot = [BootUntyped { slot: Slot(1), paddr: 0, size_bits: 14, is_device: false }];
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
    let boot = [BootUntyped { slot: Slot(1), paddr: B, size_bits: 13, is_device: false }];
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
    let boot = [BootUntyped { slot: Slot(1), paddr: 0, size_bits: 20, is_device: false }];
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
    let boot = [BootUntyped { slot: Slot(1), paddr: 0, size_bits: 16, is_device: false }];
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
        BootUntyped { slot: Slot(1), paddr: 0, size_bits: 16, is_device: false },
        BootUntyped { slot: Slot(2), paddr: 0xfe00_0000, size_bits: 21, is_device: true },
    ];
    let (mut k, mut p) = setup(&boot, 256, 256);
    let x = p.place(&mut k, T::Tcb, 0, 0x800).unwrap();
    let before = k.counts;
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0x0), Err(PlaceError::Busy(x.node.parent_hint(&p))));
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

impl NodeId {
    /// The node that blocks a 4 KiB placement at 0 while a TCB lives at 0x800: the 4 KiB node.
    fn parent_hint(self, p: &TestPlacer) -> NodeId {
        let mut id = self;
        while p.pool.info(id).bits < 12 {
            id = p.pool.info(id).parent.unwrap();
        }
        id
    }
}

#[test]
fn capacity_errors_leave_state_consistent() {
    let boot = [BootUntyped { slot: Slot(1), paddr: 0, size_bits: 20, is_device: false }];
    // Cap space of 5 slots: runs out of pairs after two of the eight splits.
    let (mut k, mut p) = setup(&boot, FIRST_FREE as usize + 5, 256);
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0), Err(PlaceError::Capacity));
    check_mirror(&p, &k.inner);
    // Pool arena too small.
    let (mut k, mut p) = setup(&boot, 256, 4);
    assert_eq!(p.place(&mut k, T::Frame4K, 0, 0), Err(PlaceError::Capacity));
    check_mirror(&p, &k.inner);
}

#[test]
fn kernel_refusal_leaves_pool_mirroring_kernel() {
    // A kernel that refuses the object retype after splits succeeded.
    struct FailObjects(Model);
    impl Kernel for FailObjects {
        fn untyped_retype(&mut self, u: Slot, ty: ObjectType, sb: u8, d: Slot, n: u32) -> Result<(), KernelError> {
            if ty != T::Untyped {
                return Err(KernelError::NotEnoughMemory { bytes_left: 0 });
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
    let boot = [BootUntyped { slot: Slot(1), paddr: 0, size_bits: 14, is_device: false }];
    let (k, mut p) = setup(&boot, 64, 64);
    let mut k = FailObjects(k.inner);
    assert_eq!(
        p.place(&mut k, T::Frame4K, 0, 0x1000),
        Err(PlaceError::Kernel(KernelError::NotEnoughMemory { bytes_left: 0 }))
    );
    check_mirror(&p, &k.0);
    assert_eq!(p.stats.splits, 2);
}

#[test]
fn revoke_free_removes_client_copies() {
    let boot = [BootUntyped { slot: Slot(1), paddr: 0, size_bits: 14, is_device: false }];
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
                BootUntyped { slot: Slot(1), paddr: 0x20_0000, size_bits: 21, is_device: false },
                BootUntyped { slot: Slot(2), paddr: 0x40_0000, size_bits: 17, is_device: false },
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
