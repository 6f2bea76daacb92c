//! Placement: makes the kernel create an object exactly at the address core's allocator chose,
//! by driving the untyped tree of the [`UntypedPool`] through the [`Kernel`] trait.
//!
//! # Method (binary buddy tree of untyped caps)
//! Every root (boot untyped) is the top of a binary tree of naturally aligned untyped nodes.
//! To place an object of 2^n bytes at A, walk from the root towards the node [A, A + 2^n):
//! * a free node larger than the target is split into its two halves: one `Untyped_Retype` of
//!   two untypeds of half its size. The node has no children, so the kernel resets it and puts
//!   the halves at offsets 0 and 2^(m-1) (`src/object/untyped.c:decodeUntypedInvocation`:
//!   `alignUp(0, objectSize)`);
//! * an already split node is passed through (no invocation);
//! * at the target node: if it is split but its subtree holds no live object, one
//!   `CNode_Revoke` on it deletes all its descendants (`src/object/cnode.c:cteRevoke`) and makes
//!   it a free leaf again (merge);
//! * the object is retyped from the target leaf, which has no children, so the kernel resets it
//!   and places the object at offset 0, i.e. at A.
//!
//! Why binary: every free naturally aligned block is then either a node or inside a free leaf,
//! so every block the allocator picks can be placed (never refused), and freed memory always
//! merges back (one revoke). Padding untypeds that cover [W, A) directly from a larger untyped
//! reach A in fewer calls, but they leave blocks that span two padding children; such a block
//! cannot be created while any other child of that untyped lives (its watermark is past it), so
//! an allocator that picks it is refused. Equal-size multi-object splits (e.g. 4 quarters in one
//! call) have the same flaw for the halves. Neither is used.
//!
//! Free: the leaf keeps existing (no eager merge), so churn of one size costs one retype per
//! alloc and one invocation per free. The default free revokes the leaf ([`FreeMode::Revoke`]):
//! it deletes core's object cap and every copy derived from it (client copies, mappings), so
//! the leaf has no children afterwards whatever clients did, and the next retype resets it. With
//! [`FreeMode::Delete`] only core's cap is deleted (same count of invocations, about 1.3x cheaper
//! on the real kernel); a surviving copy would then keep the leaf busy and the next placement
//! there would be refused, so it is only for objects never shared.
//!
//! The pool and the cap space change only after an invocation succeeded. If a later step fails,
//! the splits already made stay (they are real kernel state, mirrored exactly, and harmless).
//!
//! Cost per placement: (levels newly split) + (1 revoke if merging) + 1 retype;
//! walk O(root bits − n) ≤ 43 steps; live counts updated along the path.
//!
//! # Measured (kernel model, untyped layout of a 512 MiB QEMU guest, `strategy::measure`)
//! | trace (generator, seed 1) | invocations/op | refused | notes |
//! |---|---|---|---|
//! | churn 10^5 ops, ~500 live, steady state (ops 20k..100k) | 1.051 | 0 | 1 retype per alloc, 1 revoke per free, 2.3% merges/splits |
//! | churn 10^5 ops, whole trace incl. first touch | 1.058 | 0 | |
//! | fill 600 MiB (exhausts RAM) | 1.869 | 0 | about one split per object: every leaf is new |
//! | adversary 16 MiB interleaved, free every other, then large blocks | 1.658 | 0 | |
//!
//! After freeing everything, every root takes a retype of its full size (largest block 128 MiB
//! = the largest root) on every trace. One run each; counts are deterministic.
//!
//! Measured and not adopted: letting anonymous requests take a free leaf of exactly their size
//! first (buddy-style free lists) instead of the range allocator's first fit cuts steady churn
//! to 1.005 invocations/op (splits 3526 -> 968, merges 2284 -> 248), but the fill trace then
//! places 829 instead of 839 objects before its first failure, i.e. less than the ideal
//! allocator; the allocator keeps choosing addresses.

use crate::cap_space::{CapEntry, CapSpace, CapSpaceError, MAX_RUN_LOG2};
use crate::kernel::{Capacity, Kernel, KernelError, Slot};
use crate::object::{ObjectType, MAX_UNTYPED_BITS};
use crate::untyped_pool::{NodeId, NodeState, PoolError, PoolNode, UntypedPool};

#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum PlaceError {
    /// The request is invalid, with the kernel's error (size arguments, misaligned address,
    /// non-frame object in device memory).
    Invalid(KernelError),
    /// No root contains the whole block.
    NotCovered,
    /// The block overlaps a live object (the allocator and the pool disagree).
    Busy(NodeId),
    /// The CSpace or the pool's node arena is full.
    Capacity(Capacity),
    /// The kernel refused an invocation. The pool mirrors every invocation that succeeded.
    Kernel(KernelError),
}

impl core::fmt::Display for PlaceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PlaceError::Invalid(e) => write!(f, "invalid request: {e}"),
            PlaceError::NotCovered => write!(f, "no untyped covers the block"),
            PlaceError::Busy(n) => write!(f, "the block overlaps live pool node {}", n.0),
            PlaceError::Capacity(c) => write!(f, "capacity of {c} exhausted"),
            PlaceError::Kernel(e) => write!(f, "the kernel refused: {e}"),
        }
    }
}

/// How an object is destroyed on free.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum FreeMode {
    /// `CNode_Revoke` of the leaf: removes core's cap and every copy (default).
    Revoke,
    /// `CNode_Delete` of core's object cap.
    Delete,
}

/// A placed object.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub struct Placement {
    /// The leaf untyped the object was retyped from.
    pub node: NodeId,
    /// Core's cap to the object.
    pub slot: Slot,
    pub paddr: u64,
    pub bits: u8,
    /// The leaf's generation (changes each time it receives an object).
    pub generation: u32,
}

/// Invocations placement issued, by purpose.
#[derive(Copy, Clone, Default, Eq, PartialEq, Debug)]
pub struct PlacerStats {
    pub splits: u64,
    pub merges: u64,
    pub objects: u64,
    pub frees: u64,
}

pub struct Placer<P, C> {
    pub pool: UntypedPool<P>,
    pub caps: CapSpace<C>,
    pub free_mode: FreeMode,
    pub stats: PlacerStats,
}

impl<P, C> Placer<P, C>
where
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
    C: AsRef<[CapEntry]> + AsMut<[CapEntry]>,
{
    pub fn new(pool: UntypedPool<P>, caps: CapSpace<C>) -> Self {
        Placer { pool, caps, free_mode: FreeMode::Revoke, stats: PlacerStats::default() }
    }

    /// Checks a request without touching anything: returns the object's log2 size and whether
    /// the block is in device memory. Errors as [`Placer::place`] would give them.
    pub fn check(&self, ty: ObjectType, size_bits: u8, addr: u64) -> Result<(u8, bool), PlaceError> {
        let bits = ty.object_bits(size_bits).map_err(PlaceError::Invalid)?;
        if bits >= 64 || addr & ((1u64 << bits) - 1) != 0 {
            return Err(PlaceError::Invalid(KernelError::AlignmentError));
        }
        let root = self.pool.root_of(addr).ok_or(PlaceError::NotCovered)?;
        let r = self.pool.info(root);
        if bits > r.bits {
            return Err(PlaceError::NotCovered);
        }
        // untyped.c:decodeUntypedInvocation refuses non-frame objects from device untypeds.
        if r.device && !ty.allowed_from_device() {
            return Err(PlaceError::Invalid(KernelError::InvalidArgument { which: 1 }));
        }
        Ok((bits, r.device))
    }

    /// Creates one object of `ty`/`size_bits` at physical address `addr` (which must be free in
    /// core's allocator, i.e. hold no live object).
    pub fn place<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: u64,
    ) -> Result<Placement, PlaceError> {
        self.place_run(k, ty, size_bits, addr, 0)
    }

    /// log2 of the bytes of a run of 2^`count_log2` objects of `ty`/`size_bits`: a run is at
    /// most [`MAX_RUN_LOG2`] long (the kernel's fan-out; `decodeUntypedInvocation` refuses more
    /// with a RangeError).
    pub fn run_bits(ty: ObjectType, size_bits: u8, count_log2: u8) -> Result<u8, PlaceError> {
        if count_log2 as u32 > MAX_RUN_LOG2 {
            return Err(PlaceError::Invalid(KernelError::RangeError { min: 1, max: 1 << MAX_RUN_LOG2 }));
        }
        Ok(ty.object_bits(size_bits).map_err(PlaceError::Invalid)? + count_log2)
    }

    /// Creates 2^`count_log2` objects of `ty`/`size_bits` side by side from `addr` on, from one
    /// leaf untyped of their total size, with one retype (so `count_log2` is at most
    /// [`MAX_RUN_LOG2`], the kernel's fan-out limit); their caps are in consecutive slots from
    /// the placement's `slot`, in address order. Freeing the leaf frees them all.
    pub fn place_run<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: u64,
        count_log2: u8,
    ) -> Result<Placement, PlaceError> {
        let bits = Self::run_bits(ty, size_bits, count_log2)?;
        self.check(ty, size_bits, addr)?;
        if bits > MAX_UNTYPED_BITS || addr & ((1u64 << bits) - 1) != 0 {
            return Err(PlaceError::Invalid(KernelError::AlignmentError));
        }
        let mut id = self.pool.root_of(addr).ok_or(PlaceError::NotCovered)?;
        if bits > self.pool.info(id).bits {
            return Err(PlaceError::NotCovered);
        }
        loop {
            let n = self.pool.info(id);
            if n.bits == bits {
                if n.paddr != addr {
                    // A physically aligned block inside a root that is aligned only by its kernel
                    // virtual address (`kernel::kernel_vaddr`): no node is exactly this block.
                    return Err(PlaceError::NotCovered);
                }
                match n.state {
                    NodeState::Free => break,
                    NodeState::Split if n.live == 0 => {
                        self.merge(k, id)?;
                        break;
                    }
                    _ => return Err(PlaceError::Busy(id)),
                }
            }
            match n.state {
                NodeState::Free => {
                    self.split(k, id)?;
                }
                NodeState::Split => {}
                _ => return Err(PlaceError::Busy(id)),
            }
            id = self.pool.child_towards(id, addr);
        }
        // Retype from the childless leaf: reset, objects from offset 0 = addr on.
        let leaf = self.pool.info(id);
        let count = 1u32 << count_log2;
        let slot = self.caps.alloc_run(count).map_err(|_| PlaceError::Capacity(Capacity::CapSlots))?;
        if let Err(e) = k.untyped_retype(leaf.slot, ty, size_bits, slot, count) {
            // Giving back the run just taken cannot fail (`free_run` refuses only slots that
            // are not allocated).
            let back = self.caps.free_run(slot, count);
            debug_assert_eq!(back, Ok(()));
            return Err(PlaceError::Kernel(e));
        }
        self.pool.apply_occupy(id, ty, slot, count_log2).map_err(pool_err)?;
        self.verify(k, id);
        self.stats.objects += 1;
        Ok(Placement { node: id, slot, paddr: addr, bits, generation: self.pool.info(id).generation })
    }

    fn split<K: Kernel>(&mut self, k: &mut K, id: NodeId) -> Result<(), PlaceError> {
        let n = self.pool.info(id);
        if !self.pool.can_split() {
            return Err(PlaceError::Capacity(Capacity::PoolNodes));
        }
        let kids = self.caps.alloc_pair().map_err(|_| PlaceError::Capacity(Capacity::CapSlots))?;
        if let Err(e) = k.untyped_retype(n.slot, ObjectType::Untyped, n.bits - 1, kids, 2) {
            // As in `place_run`: the pair was just taken.
            let back = self.caps.free_run(kids, 2);
            debug_assert_eq!(back, Ok(()));
            return Err(PlaceError::Kernel(e));
        }
        let (lo, hi) = self.pool.apply_split(id, kids).map_err(pool_err)?;
        for n in [id, lo, hi] {
            self.verify(k, n);
        }
        self.stats.splits += 1;
        Ok(())
    }

    fn merge<K: Kernel>(&mut self, k: &mut K, id: NodeId) -> Result<(), PlaceError> {
        let n = self.pool.info(id);
        k.cnode_revoke(n.slot).map_err(PlaceError::Kernel)?;
        let caps = &mut self.caps;
        let mut lost: Result<(), CapSpaceError> = Ok(());
        self.pool
            .apply_merge(id, |s| {
                if let Err(e) = caps.free(s) {
                    lost = Err(e);
                }
            })
            .map_err(pool_err)?;
        debug_assert_eq!(lost, Ok(()), "descendant slots were allocated");
        self.verify(k, id);
        self.stats.merges += 1;
        Ok(())
    }

    /// Merges every split subtree that holds no live object back into one free leaf (one
    /// revoke each, the highest such node), so that the pool holds exactly the splits on the
    /// way to live objects and nothing cached: the same live objects always leave the same
    /// pool and cap space behind. Returns the merges made.
    pub fn compact<K: Kernel>(&mut self, k: &mut K) -> Result<u64, PlaceError> {
        let before = self.stats.merges;
        for root in 0..self.pool.num_roots() {
            // Depth first; two pending halves per level at most.
            let mut pending: heapless::Vec<NodeId, { 2 * (crate::object::MAX_UNTYPED_BITS as usize) + 2 }> =
                heapless::Vec::new();
            // Empty: room for one.
            let _ = pending.push(NodeId(root as u32));
            while let Some(id) = pending.pop() {
                let n = self.pool.info(id);
                match n.state {
                    NodeState::Split if n.live == 0 => self.merge(k, id)?,
                    NodeState::Split => {
                        let (lo, hi) = self.pool.halves(id);
                        // Room for both: each level adds two and takes one.
                        let _ = pending.push(hi);
                        let _ = pending.push(lo);
                    }
                    _ => {}
                }
            }
        }
        Ok(self.stats.merges - before)
    }

    /// Destroys the object held by leaf `node` (see [`FreeMode`]); the leaf stays, free.
    pub fn release<K: Kernel>(&mut self, k: &mut K, node: NodeId) -> Result<(), PlaceError> {
        if node.0 as usize >= self.pool.capacity() {
            return Err(PlaceError::Invalid(KernelError::InvalidArgument { which: 0 }));
        }
        let n = self.pool.info(node);
        let (obj_slot, count_log2) = match n.state {
            NodeState::Occupied { obj_slot, count_log2, .. } => (obj_slot, count_log2),
            _ => return Err(PlaceError::Invalid(KernelError::InvalidArgument { which: 0 })),
        };
        match self.free_mode {
            FreeMode::Revoke => k.cnode_revoke(n.slot),
            // Only a single object's cap can go alone; a run is revoked as a whole.
            FreeMode::Delete if count_log2 == 0 => k.cnode_delete(obj_slot),
            FreeMode::Delete => k.cnode_revoke(n.slot),
        }
        .map_err(PlaceError::Kernel)?;
        self.pool.apply_release(node).map_err(pool_err)?;
        if self.free_mode == FreeMode::Revoke {
            // After a delete a client copy may still hold the leaf busy; only revoke is exact.
            self.verify(k, node);
        }
        // The slots were allocated as one run at placement and are freed only here: giving
        // them back cannot fail.
        let back = self.caps.free_run(obj_slot, 1 << count_log2);
        debug_assert_eq!(back, Ok(()));
        self.stats.frees += 1;
        Ok(())
    }

    /// Debug builds and tests: after an invocation and its pool update, the node's watermark
    /// must equal the kernel's, where the kernel can report it ([`Kernel::observed_watermark`]).
    fn verify<K: Kernel>(&self, k: &mut K, id: NodeId) {
        if cfg!(any(test, debug_assertions)) {
            let n = self.pool.info(id);
            if let Some(w) = k.observed_watermark(n.slot) {
                assert_eq!(w, n.watermark, "pool and kernel disagree on {:?}", n);
            }
        }
    }

    /// Object type and core's slot of the object held by `node` (the first of a run), if any.
    pub fn object(&self, node: NodeId) -> Option<(ObjectType, Slot)> {
        if node.0 as usize >= self.pool.capacity() {
            return None;
        }
        match self.pool.info(node).state {
            NodeState::Occupied { ty, obj_slot, .. } => Some((ty, obj_slot)),
            _ => None,
        }
    }
}

fn pool_err(e: PoolError) -> PlaceError {
    match e {
        PoolError::Capacity => PlaceError::Capacity(Capacity::PoolNodes),
        PoolError::WrongState(id) => PlaceError::Busy(id),
        PoolError::BadRoot(_) => PlaceError::NotCovered,
    }
}
