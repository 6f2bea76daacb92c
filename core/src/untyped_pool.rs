//! Mirror of every untyped cap core holds: address, size, device flag, the kernel's watermark
//! and its children, organised as one binary buddy tree per boot untyped (root).
//!
//! A node is a naturally aligned block `[paddr, paddr + 2^bits)` with an untyped cap in core's
//! CSpace. Its state mirrors the kernel's view of that cap:
//! * `Free`: no children. The kernel's effective watermark is 0 (`src/object/untyped.c:
//!   decodeUntypedInvocation` resets an untyped without children on its next retype).
//! * `Split`: exactly two children, the untyped halves made by one retype of two objects;
//!   watermark = 2^bits.
//! * `Occupied`: children made by one retype that fill it (one object of exactly the node's
//!   size, or 2^k equal objects); watermark = 2^bits.
//!
//! Each node counts the live objects in its subtree, so "this block holds no object" is O(1).
//! Lookup: roots are kept sorted by address in the first slots of the node arena (binary
//! search), then the path descends at most `root bits - 4` levels. Children are allocated in
//! pairs from a fixed arena (caller-provided storage); running out is [`PoolError::Capacity`].
//!
//! The pool only records what the kernel did; it issues no invocations (placement does, and
//! updates the pool only after an invocation succeeded).

use crate::kernel::{kernel_aligned, Slot, UntypedDesc};
use crate::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};

const NIL: u32 = u32::MAX;

// Roots are aligned by their kernel virtual address (`kernel::kernel_vaddr`): above 512 GiB a
// root larger than 2^39 is not physically naturally aligned (e.g. 2^40 bytes at 0x18000000000).
// Retype aligns by the same address, so the halves of such a root lie at its base and
// base + 2^(bits-1), and every node of 2^39 bytes or less is naturally aligned.

/// Index of a node in the pool's arena. Stable while the node exists.
#[derive(Copy, Clone, Eq, PartialEq, Ord, PartialOrd, Hash, Debug)]
pub struct NodeId(pub u32);

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum NodeState {
    /// Arena entry not in use.
    Unused,
    Free,
    Split,
    /// Holds 2^`count_log2` objects of `ty` filling it, their caps in consecutive slots from
    /// `obj_slot` (one retype of many objects, e.g. a run of frames).
    Occupied {
        ty: ObjectType,
        obj_slot: Slot,
        count_log2: u8,
    },
}

/// One arena entry (initialise storage with [`PoolNode::EMPTY`]).
#[derive(Copy, Clone, Debug)]
pub struct PoolNode {
    paddr: u64,
    slot: u32,
    parent: u32,
    /// First of the two children (arena pair `kids`, `kids + 1` = lower, upper half); for an
    /// unused pair: the next free pair.
    kids: u32,
    live: u32,
    generation: u32,
    bits: u8,
    device: bool,
    state: NodeState,
}

impl PoolNode {
    pub const EMPTY: PoolNode = PoolNode {
        paddr: 0,
        slot: 0,
        parent: NIL,
        kids: NIL,
        live: 0,
        generation: 0,
        bits: 0,
        device: false,
        state: NodeState::Unused,
    };
}

/// Read-only view of a node.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub struct NodeInfo {
    pub id: NodeId,
    pub slot: Slot,
    pub paddr: u64,
    pub bits: u8,
    pub device: bool,
    pub state: NodeState,
    /// Live objects in this subtree.
    pub live: u32,
    /// The kernel's effective watermark of this node's untyped cap, in bytes from its base.
    pub watermark: u64,
    pub parent: Option<NodeId>,
    /// Bumped every time the node receives an object (lets handles detect staleness).
    pub generation: u32,
}

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum PoolError {
    /// The node arena is full.
    Capacity,
    /// Boot untypeds overlap, are misaligned, or have an impossible size.
    BadRoot(Slot),
    /// The operation does not fit the node's current state (a bug in the caller).
    WrongState(NodeId),
}

impl core::fmt::Display for PoolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PoolError::Capacity => write!(f, "untyped pool nodes exhausted"),
            PoolError::BadRoot(s) => {
                write!(f, "boot untyped in slot {:#x} overlaps, is misaligned or has an impossible size", s.0)
            }
            PoolError::WrongState(n) => write!(f, "pool node {} is not in the state the operation needs", n.0),
        }
    }
}

/// Where the walk from a root towards a block ended.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum Walk {
    /// The node is exactly the block.
    Exact(NodeId),
    /// The block lies inside this free node, which is larger: split it next.
    InsideFree(NodeId),
    /// The block overlaps the object held by this node.
    InsideOccupied(NodeId),
}

pub struct UntypedPool<S> {
    n: S,
    roots: u32,
    /// Free arena pairs (linked through `kids`), and the first never-used pair.
    free_pairs: u32,
    fresh: u32,
    nodes_in_use: usize,
}

impl<S: AsRef<[PoolNode]> + AsMut<[PoolNode]>> UntypedPool<S> {
    /// One root per boot untyped (RAM and device), all `Free`. Storage must hold the roots plus
    /// two entries per split node.
    pub fn new(mut storage: S, boot: &[UntypedDesc]) -> Result<Self, PoolError> {
        let len = storage.as_ref().len();
        if boot.len() > len || len >= NIL as usize {
            return Err(PoolError::Capacity);
        }
        let arena = storage.as_mut();
        for x in arena.iter_mut() {
            *x = PoolNode::EMPTY;
        }
        // Insertion sort by address into arena[0..roots).
        for (i, u) in boot.iter().enumerate() {
            if !(MIN_UNTYPED_BITS..=MAX_UNTYPED_BITS).contains(&u.size_bits) || !kernel_aligned(u.paddr, u.size_bits) {
                return Err(PoolError::BadRoot(u.slot));
            }
            let node = PoolNode {
                paddr: u.paddr,
                slot: u.slot.0,
                bits: u.size_bits,
                device: u.is_device,
                state: NodeState::Free,
                ..PoolNode::EMPTY
            };
            let mut j = i;
            while j > 0 && arena[j - 1].paddr > u.paddr {
                arena[j] = arena[j - 1];
                j -= 1;
            }
            arena[j] = node;
        }
        for w in arena[..boot.len()].windows(2) {
            if w[0].paddr + (1u64 << w[0].bits) > w[1].paddr {
                return Err(PoolError::BadRoot(Slot(w[1].slot)));
            }
        }
        let roots = boot.len() as u32;
        let fresh = (roots + 1) & !1;
        Ok(UntypedPool { n: storage, roots, free_pairs: NIL, fresh, nodes_in_use: boot.len() })
    }

    fn a(&self) -> &[PoolNode] {
        self.n.as_ref()
    }
    fn node(&self, id: NodeId) -> &PoolNode {
        &self.a()[id.0 as usize]
    }
    fn node_mut(&mut self, id: NodeId) -> &mut PoolNode {
        &mut self.n.as_mut()[id.0 as usize]
    }

    pub fn num_roots(&self) -> usize {
        self.roots as usize
    }

    /// Roots in address order.
    pub fn roots(&self) -> impl Iterator<Item = NodeInfo> + '_ {
        (0..self.roots).map(move |i| self.info(NodeId(i)))
    }

    pub fn nodes_in_use(&self) -> usize {
        self.nodes_in_use
    }

    pub fn capacity(&self) -> usize {
        self.a().len()
    }

    /// Whether an arena of `len` nodes can hold this pool: at least as large, and small
    /// enough for node ids.
    pub fn can_move_to(&self, len: usize) -> bool {
        len >= self.capacity() && len < NIL as usize
    }

    /// Moves the pool onto `storage` (see [`Self::can_move_to`]) and returns the old arena:
    /// node ids stay valid, and the nodes past the old capacity are free. Gives `storage`
    /// back if it cannot hold the pool.
    pub fn replace_storage(&mut self, mut storage: S) -> Result<S, S> {
        if !self.can_move_to(storage.as_ref().len()) {
            return Err(storage);
        }
        let old = self.capacity();
        let dst = storage.as_mut();
        dst[..old].copy_from_slice(self.a());
        for x in dst[old..].iter_mut() {
            *x = PoolNode::EMPTY;
        }
        Ok(core::mem::replace(&mut self.n, storage))
    }

    /// Whether the arena can take one more split.
    pub fn can_split(&self) -> bool {
        self.free_pairs != NIL || (self.fresh as usize) + 2 <= self.a().len()
    }

    pub fn info(&self, id: NodeId) -> NodeInfo {
        let x = self.node(id);
        NodeInfo {
            id,
            slot: Slot(x.slot),
            paddr: x.paddr,
            bits: x.bits,
            device: x.device,
            state: x.state,
            live: x.live,
            watermark: match x.state {
                NodeState::Free | NodeState::Unused => 0,
                NodeState::Split | NodeState::Occupied { .. } => 1u64 << x.bits,
            },
            parent: (x.parent != NIL).then_some(NodeId(x.parent)),
            generation: x.generation,
        }
    }

    /// Node ids of all nodes in use (roots first), for checks.
    pub fn iter(&self) -> impl Iterator<Item = NodeInfo> + '_ {
        (0..self.a().len() as u32)
            .filter(move |&i| self.a()[i as usize].state != NodeState::Unused)
            .map(move |i| self.info(NodeId(i)))
    }

    /// The root containing `addr` (binary search over the sorted roots).
    pub fn root_of(&self, addr: u64) -> Option<NodeId> {
        let r = &self.a()[..self.roots as usize];
        let i = r.partition_point(|x| x.paddr <= addr);
        if i == 0 {
            return None;
        }
        let x = &r[i - 1];
        (addr - x.paddr < (1u64 << x.bits)).then_some(NodeId(i as u32 - 1))
    }

    /// The child of split node `id` that contains `addr`.
    pub fn child_towards(&self, id: NodeId, addr: u64) -> NodeId {
        let x = self.node(id);
        // By offset, not by address bit: the node may be a root that is only aligned by its kernel
        // virtual address (see `kernel_vaddr`).
        let upper = ((addr - x.paddr) >> (x.bits - 1)) & 1;
        NodeId(x.kids + upper as u32)
    }

    /// The two halves of split node `id`, lower address first.
    pub fn halves(&self, id: NodeId) -> (NodeId, NodeId) {
        let x = self.node(id);
        let (a, b) = (NodeId(x.kids), NodeId(x.kids + 1));
        if self.node(a).paddr <= self.node(b).paddr {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Walks from the root towards the naturally aligned block `[addr, addr + 2^bits)`, through
    /// split nodes. `None` if no root contains the whole block.
    pub fn walk(&self, addr: u64, bits: u8) -> Option<Walk> {
        let mut id = self.root_of(addr)?;
        if self.node(id).bits < bits {
            return None;
        }
        loop {
            let x = self.node(id);
            if x.bits == bits {
                return Some(Walk::Exact(id));
            }
            match x.state {
                NodeState::Free => return Some(Walk::InsideFree(id)),
                NodeState::Occupied { .. } => return Some(Walk::InsideOccupied(id)),
                NodeState::Split => id = self.child_towards(id, addr),
                NodeState::Unused => unreachable!("walk reached an unused node"),
            }
        }
    }

    /// Finds the node of exactly `[addr, addr + 2^bits)`, if it exists.
    pub fn find(&self, addr: u64, bits: u8) -> Option<NodeId> {
        match self.walk(addr, bits)? {
            Walk::Exact(id) if self.node(id).paddr == addr => Some(id),
            _ => None,
        }
    }

    /// Records a successful split of free node `id` into two halves whose caps are in
    /// `[kid_slot, kid_slot + 1)` (lower half first, as `createNewObjects` fills the window).
    pub fn apply_split(&mut self, id: NodeId, kid_slot: Slot) -> Result<(NodeId, NodeId), PoolError> {
        let x = *self.node(id);
        if x.state != NodeState::Free || x.bits <= MIN_UNTYPED_BITS {
            return Err(PoolError::WrongState(id));
        }
        let p = if self.free_pairs != NIL {
            let p = self.free_pairs;
            self.free_pairs = self.a()[p as usize].kids;
            p
        } else if (self.fresh as usize) + 2 <= self.a().len() {
            self.fresh += 2;
            self.fresh - 2
        } else {
            return Err(PoolError::Capacity);
        };
        let half = x.bits - 1;
        for k in 0..2u32 {
            *self.node_mut(NodeId(p + k)) = PoolNode {
                paddr: x.paddr + ((k as u64) << half),
                slot: kid_slot.0 + k,
                parent: id.0,
                bits: half,
                device: x.device,
                state: NodeState::Free,
                ..PoolNode::EMPTY
            };
        }
        let n = self.node_mut(id);
        n.state = NodeState::Split;
        n.kids = p;
        self.nodes_in_use += 2;
        Ok((NodeId(p), NodeId(p + 1)))
    }

    /// Records a successful revoke of split node `id` whose subtree holds no object: every
    /// descendant cap is gone. Calls `freed(slot)` for each descendant's cap slot.
    pub fn apply_merge(&mut self, id: NodeId, mut freed: impl FnMut(Slot)) -> Result<(), PoolError> {
        let x = *self.node(id);
        if x.state != NodeState::Split || x.live != 0 {
            return Err(PoolError::WrongState(id));
        }
        // Iterative post-order release of the subtree, using parent links (no stack).
        let mut cur = x.kids;
        loop {
            // Descend along lower halves to a node without children (a Free leaf: live == 0
            // rules out Occupied).
            while self.a()[cur as usize].state == NodeState::Split {
                cur = self.a()[cur as usize].kids;
            }
            freed(Slot(self.a()[cur as usize].slot));
            loop {
                let parent = self.a()[cur as usize].parent;
                let pair = self.a()[parent as usize].kids;
                if cur == pair {
                    // Lower half done: do the upper half next.
                    cur += 1;
                    break;
                }
                // Upper half done: the pair is released and the parent is a leaf again.
                for k in 0..2 {
                    *self.node_mut(NodeId(pair + k)) = PoolNode::EMPTY;
                }
                self.node_mut(NodeId(pair)).kids = self.free_pairs;
                self.free_pairs = pair;
                self.nodes_in_use -= 2;
                let pn = self.node_mut(NodeId(parent));
                pn.state = NodeState::Free;
                pn.kids = NIL;
                if parent == id.0 {
                    return Ok(());
                }
                freed(Slot(self.a()[parent as usize].slot));
                cur = parent;
            }
        }
    }

    /// Records a successful retype of 2^`count_log2` objects filling free node `id`.
    pub fn apply_occupy(
        &mut self,
        id: NodeId,
        ty: ObjectType,
        obj_slot: Slot,
        count_log2: u8,
    ) -> Result<(), PoolError> {
        if self.node(id).state != NodeState::Free {
            return Err(PoolError::WrongState(id));
        }
        let n = self.node_mut(id);
        n.state = NodeState::Occupied { ty, obj_slot, count_log2 };
        n.generation = n.generation.wrapping_add(1);
        self.add_live(id, true);
        Ok(())
    }

    /// Records that the object held by `id` is gone (its cap deleted or the node revoked).
    /// Returns the object's slot.
    pub fn apply_release(&mut self, id: NodeId) -> Result<Slot, PoolError> {
        match self.node(id).state {
            NodeState::Occupied { obj_slot, .. } => {
                self.node_mut(id).state = NodeState::Free;
                self.add_live(id, false);
                Ok(obj_slot)
            }
            _ => Err(PoolError::WrongState(id)),
        }
    }

    fn add_live(&mut self, id: NodeId, up: bool) {
        let mut i = id.0;
        while i != NIL {
            let n = &mut self.n.as_mut()[i as usize];
            if up {
                n.live += 1;
            } else {
                n.live -= 1;
            }
            i = n.parent;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn pool(boot: &[UntypedDesc], cap: usize) -> UntypedPool<Vec<PoolNode>> {
        UntypedPool::new(vec![PoolNode::EMPTY; cap], boot).unwrap()
    }
    fn bu(slot: u32, paddr: u64, size_bits: u8) -> UntypedDesc {
        UntypedDesc { slot: Slot(slot), paddr, size_bits, is_device: false }
    }

    #[test]
    fn roots_sorted_and_found_by_binary_search() {
        let p = pool(&[bu(3, 0x40000, 18), bu(1, 0x10000, 16), bu(2, 0x20000, 17)], 16);
        let r: Vec<u64> = p.roots().map(|r| r.paddr).collect();
        assert_eq!(r, vec![0x10000, 0x20000, 0x40000]);
        assert_eq!(p.root_of(0x10000), Some(NodeId(0)));
        assert_eq!(p.root_of(0x1ffff), Some(NodeId(0)));
        assert_eq!(p.root_of(0x3ffff), Some(NodeId(1)));
        assert_eq!(p.root_of(0x7ffff), Some(NodeId(2)));
        assert_eq!(p.root_of(0x80000), None);
        assert_eq!(p.root_of(0xffff), None);
        assert_eq!(p.info(NodeId(2)).slot, Slot(3));
    }

    #[test]
    fn overlapping_or_misaligned_roots_are_refused() {
        let st = vec![PoolNode::EMPTY; 8];
        assert_eq!(
            UntypedPool::new(st.clone(), &[bu(1, 0, 16), bu(2, 0x8000, 12)]).err(),
            Some(PoolError::BadRoot(Slot(2)))
        );
        assert_eq!(UntypedPool::new(st.clone(), &[bu(1, 0x800, 12)]).err(), Some(PoolError::BadRoot(Slot(1))));
        assert_eq!(
            UntypedPool::new(vec![PoolNode::EMPTY; 1], &[bu(1, 0, 12), bu(2, 0x1000, 12)]).err(),
            Some(PoolError::Capacity)
        );
    }

    #[test]
    fn roots_aligned_only_by_kernel_vaddr_split_into_aligned_halves() {
        // A real boot (QEMU, 512 MiB) hands out a 1 TiB device untyped at 1.5 TiB.
        let mut p = pool(&[bu(1, 0x180_0000_0000, 40)], 16);
        let root = p.root_of(0x1ff_ffff_f000).unwrap();
        assert_eq!(p.walk(0x180_0000_0000, 39), Some(Walk::InsideFree(root)));
        let (lo, hi) = p.apply_split(root, Slot(10)).unwrap();
        assert_eq!(p.info(lo).paddr, 0x180_0000_0000);
        assert_eq!(p.info(hi).paddr, 0x200_0000_0000);
        assert_eq!(p.child_towards(root, 0x1ff_ffff_f000), lo);
        assert_eq!(p.child_towards(root, 0x200_0000_0000), hi);
        assert_eq!(p.find(0x200_0000_0000, 39), Some(hi));
        // The physically aligned 2^40 block at 2 TiB is not a node of this root.
        assert_eq!(p.find(0x200_0000_0000, 40), None);
        // Below the kernel window a misaligned root is still refused.
        let st = vec![PoolNode::EMPTY; 4];
        assert_eq!(UntypedPool::new(st, &[bu(2, 0x1000, 13)]).err(), Some(PoolError::BadRoot(Slot(2))));
    }

    #[test]
    fn split_walk_occupy_release_merge() {
        let mut p = pool(&[bu(1, 0x10000, 16)], 64);
        let root = NodeId(0);
        assert_eq!(p.walk(0x14000, 12), Some(Walk::InsideFree(root)));
        let (lo, hi) = p.apply_split(root, Slot(20)).unwrap();
        assert_eq!(p.info(lo).paddr, 0x10000);
        assert_eq!(p.info(hi).paddr, 0x18000);
        assert_eq!(p.info(hi).slot, Slot(21));
        assert_eq!(p.info(root).watermark, 1 << 16);
        let (l2, _) = p.apply_split(lo, Slot(22)).unwrap();
        assert_eq!(p.walk(0x10000, 14), Some(Walk::Exact(l2)));
        p.apply_occupy(l2, ObjectType::Untyped, Slot(30), 0).unwrap();
        assert_eq!(p.info(root).live, 1);
        assert_eq!(p.walk(0x11000, 12), Some(Walk::InsideOccupied(l2)));
        assert_eq!(p.apply_merge(root, |_| ()), Err(PoolError::WrongState(root)));
        assert_eq!(p.apply_release(l2), Ok(Slot(30)));
        assert_eq!(p.info(root).live, 0);
        let mut freed = Vec::new();
        p.apply_merge(root, |s| freed.push(s.0)).unwrap();
        freed.sort();
        assert_eq!(freed, vec![20, 21, 22, 23]);
        assert_eq!(p.nodes_in_use(), 1);
        assert_eq!(p.info(root).state, NodeState::Free);
        // Freed pairs are reused.
        p.apply_split(root, Slot(40)).unwrap();
        assert_eq!(p.nodes_in_use(), 3);
    }

    #[test]
    fn deep_merge_frees_every_node() {
        let mut p = pool(&[bu(1, 0, 20)], 200);
        // Split down to 16 bytes along two different paths.
        for addr in [0u64, 0xabc0] {
            let mut slot = 100 + (addr as u32 % 7) * 100;
            loop {
                match p.walk(addr, 4).unwrap() {
                    Walk::InsideFree(id) => {
                        p.apply_split(id, Slot(slot)).unwrap();
                        slot += 2;
                    }
                    Walk::Exact(_) => break,
                    Walk::InsideOccupied(_) => unreachable!(),
                }
            }
        }
        let in_use = p.nodes_in_use();
        assert!(in_use > 40);
        let mut freed = 0;
        p.apply_merge(NodeId(0), |_| freed += 1).unwrap();
        assert_eq!(freed, in_use - 1);
        assert_eq!(p.nodes_in_use(), 1);
        assert_eq!(p.iter().count(), 1);
    }

    #[test]
    fn arena_capacity_is_an_error() {
        let mut p = pool(&[bu(1, 0, 16)], 4);
        p.apply_split(NodeId(0), Slot(10)).unwrap();
        assert!(!p.can_split());
        assert_eq!(p.apply_split(NodeId(2), Slot(12)), Err(PoolError::Capacity));
    }

    #[test]
    fn a_moved_pool_keeps_its_nodes_and_can_split_further() {
        let boot = [UntypedDesc { slot: Slot(1), paddr: 0, size_bits: 14, is_device: false }];
        let mut p = UntypedPool::new(vec![PoolNode::EMPTY; 4], &boot).unwrap();
        let (lower, _) = p.apply_split(NodeId(0), Slot(10)).unwrap();
        assert!(!p.can_split());
        assert!(!p.can_move_to(3));
        assert_eq!(p.replace_storage(vec![PoolNode::EMPTY; 8]).map(|v| v.len()).map_err(|v| v.len()), Ok(4));
        assert_eq!((p.capacity(), p.nodes_in_use()), (8, 3));
        assert!(p.can_split());
        p.apply_split(lower, Slot(12)).unwrap();
        assert_eq!(p.nodes_in_use(), 5);
    }
}
