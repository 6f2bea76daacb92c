//! What the integration tests share: a placer over the kernel model and the checks that its
//! mirror matches the model.
#![allow(dead_code, unused_imports)] // each test file uses a part

pub use std::collections::BTreeMap;

pub use sel4_core::cap_space::*;
pub use sel4_core::kernel::*;
pub use sel4_core::object::*;
pub use sel4_core::phys_allocator::*;
pub use sel4_core::placement::*;
pub use sel4_core::range_allocator::*;
pub use sel4_core::untyped_pool::*;
pub use sel4_kernel_model::{KernelModel, ModelCap, ModelSlot};
pub use ObjectType as T;

pub type Model = KernelModel<Vec<ModelSlot>>;
pub type TestPlacer = Placer<Vec<PoolNode>, Vec<CapEntry>>;

pub const FIRST_FREE: u32 = 16;

pub fn setup(boot: &[UntypedDesc], slots: usize, nodes: usize) -> (Counting<Model>, TestPlacer) {
    let k = KernelModel::new(vec![ModelSlot::EMPTY; slots], boot, Slot(FIRST_FREE)).unwrap();
    let pool = UntypedPool::new(vec![PoolNode::EMPTY; nodes], boot).unwrap();
    let caps = CapSpace::new(vec![CapEntry::EMPTY; slots - FIRST_FREE as usize], Slot(FIRST_FREE)).unwrap();
    (Counting::new(k), Placer::new(pool, caps))
}

/// The pool mirrors the model exactly: every node's cap is an untyped of the node's block with
/// the node's watermark and children; every object is where the pool says; nothing else exists.
pub fn check_mirror(p: &TestPlacer, k: &Model) {
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
            NodeState::Occupied { ty, obj_slot, count_log2 } => {
                let count = 1u32 << count_log2;
                let bits = n.bits - count_log2;
                expected_caps += count as usize;
                assert_eq!(kids, (0..count).map(|i| Slot(obj_slot.0 + i)).collect::<Vec<_>>());
                for i in 0..count {
                    let at = n.paddr + ((i as u64) << bits);
                    assert_eq!(k.object_at(Slot(obj_slot.0 + i)), Some((ty, at, bits)), "object {i} of {:?}", n);
                }
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
pub fn check_no_overlap(k: &Model) {
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
pub struct Checked<K> {
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
