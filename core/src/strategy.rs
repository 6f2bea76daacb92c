//! Allocation strategies: how an allocation request becomes a kernel object at some physical
//! address. Every strategy (core's own and the baselines it is compared with) implements
//! [`Strategy`]; trace replay drives them through it against any [`Kernel`]. core's own is
//! [`Ours`]: range allocators choose, [`Placer`] makes the kernel agree.

use crate::cap_space::CapEntry;
use crate::kernel::{Kernel, KernelError, Slot};
use crate::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};
use crate::placement::{PlaceError, Placer};
use crate::range_allocator::{RangeAllocator, RangeError};
use crate::untyped_pool::{NodeId, NodeState, PoolNode};

/// Opaque reference to one live allocation; only meaningful to the strategy that returned it
/// (strategies may pack an index and a generation into it to detect stale handles).
#[derive(Copy, Clone, Eq, PartialEq, Ord, PartialOrd, Hash, Debug)]
pub struct Handle(pub u64);

/// A successful allocation: the object's cap is in `slot` of core's CSpace and the object starts
/// at physical address `paddr`.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub struct Placed {
    pub handle: Handle,
    pub paddr: u64,
    pub slot: Slot,
}

/// Why an allocation did not happen.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum AllocFailure {
    /// The allocator found no block (or the requested address is not free): counted as `failed`.
    NoBlock,
    /// The allocator chose a block but the kernel could not place the object there: counted as
    /// `refused`. Every state change of the attempt has been rolled back.
    Refused(KernelError),
    /// A fixed capacity (metadata, cap slots, pool nodes) ran out.
    Capacity,
    /// The request itself is invalid, with the error the kernel would give: e.g. a CNode of radix 0
    /// (`InvalidArgument{1}`), size_bits > 47 (`RangeError`), or a kernel object other than a frame
    /// or untyped requested at an address in device memory (`InvalidArgument{1}`, as
    /// `decodeUntypedInvocation` answers for a device untyped).
    Invalid(KernelError),
}

/// Why a free did not happen.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum FreeError {
    /// The handle names no live allocation of this strategy (double free, forged handle).
    InvalidHandle,
    /// The kernel refused an invocation; the strategy's state is unchanged.
    Kernel(KernelError),
}

pub trait Strategy {
    /// Short name used in reports (`ours`, `freeindex`, `buddy`, `page_granular`, ...).
    fn name(&self) -> &'static str;

    /// Create one object of `ty`/`size_bits` (seL4's `size_bits` argument), at `addr` if given,
    /// otherwise wherever the strategy's allocator chooses.
    fn alloc<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
    ) -> Result<Placed, AllocFailure>;

    /// Destroy the object and make its memory allocatable again.
    fn free<K: Kernel>(&mut self, k: &mut K, h: Handle) -> Result<(), FreeError>;

    /// Largest block (bytes) that could be allocated now, verified against the kernel (e.g. by
    /// allocating it as an untyped and freeing it again). Leaves live allocations untouched.
    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64;
}

// ---------------------------------------------------------------------------------------------
// core's own strategy.

/// Why [`Ours::new`] failed.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum SetupError {
    /// A root could not be added to a range allocator (overlap or metadata capacity).
    Ranges(RangeError),
}

/// core's strategy: a range allocator for RAM and one for device memory choose naturally
/// aligned blocks (boundaries at every root, so no block spans two roots), and the
/// [`Placer`] makes the kernel create the object exactly there (see `placement` for the
/// method and its cost). A kernel refusal rolls the allocator back; it does not happen
/// (property tests on random traces, `strategy::tests`).
///
/// Handles pack the leaf node and its generation, so a stale or forged handle is rejected.
pub struct Ours<'s, const N: usize, P, C> {
    ram: &'s mut RangeAllocator<N>,
    device: &'s mut RangeAllocator<N>,
    pub placer: Placer<P, C>,
}

impl<'s, const N: usize, P, C> Ours<'s, N, P, C>
where
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
    C: AsRef<[CapEntry]> + AsMut<[CapEntry]>,
{
    /// `ram` and `device` must be empty; every root of the placer's pool is added to one of them.
    pub fn new(
        ram: &'s mut RangeAllocator<N>,
        device: &'s mut RangeAllocator<N>,
        placer: Placer<P, C>,
    ) -> Result<Self, SetupError> {
        for r in placer.pool.roots() {
            let a = if r.device { &mut *device } else { &mut *ram };
            let end = r.paddr + (1u64 << r.bits);
            a.add_boundary(r.paddr).map_err(SetupError::Ranges)?;
            a.add_boundary(end).map_err(SetupError::Ranges)?;
            a.add_range(r.paddr, 1u64 << r.bits).map_err(SetupError::Ranges)?;
        }
        Ok(Ours { ram, device, placer })
    }

    pub fn ram(&self) -> &RangeAllocator<N> {
        self.ram
    }

    pub fn device(&self) -> &RangeAllocator<N> {
        self.device
    }

    fn handle(node: NodeId, generation: u32) -> Handle {
        Handle((generation as u64) << 32 | node.0 as u64)
    }

    /// The leaf behind a handle, if the handle names a live object.
    pub fn node_of(&self, h: Handle) -> Option<NodeId> {
        let node = NodeId(h.0 as u32);
        if node.0 as usize >= self.placer.pool.capacity() {
            return None;
        }
        let n = self.placer.pool.info(node);
        let live = matches!(n.state, NodeState::Occupied { .. }) && n.generation == (h.0 >> 32) as u32;
        live.then_some(node)
    }

    /// Physical address, type and core's cap slot of a live object.
    pub fn object(&self, h: Handle) -> Option<(u64, ObjectType, Slot)> {
        let node = self.node_of(h)?;
        let (ty, slot) = self.placer.object(node)?;
        Some((self.placer.pool.info(node).paddr, ty, slot))
    }

    /// Like [`Strategy::alloc`] without an address, but the block must lie in `[lo, hi)`
    /// (e.g. DMA below 4 GiB). RAM only.
    pub fn alloc_in<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        lo: u64,
        hi: u64,
    ) -> Result<Placed, AllocFailure> {
        self.alloc_at(k, ty, size_bits, None, Some((lo, hi)))
    }

    fn alloc_at<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
        range: Option<(u64, u64)>,
    ) -> Result<Placed, AllocFailure> {
        let bits = ty.object_bits(size_bits).map_err(AllocFailure::Invalid)?;
        if bits > MAX_UNTYPED_BITS {
            // Larger than any untyped: the kernel's memory check refuses it.
            return Err(AllocFailure::Invalid(KernelError::NotEnoughMemory { bytes_left: 0 }));
        }
        let size = 1u64 << bits;
        let (base, device) = match addr {
            None => {
                let a = self.ram.alloc(size, bits, range).map_err(range_failure)?;
                (a, false)
            }
            Some(a) => {
                let device = match self.placer.check(ty, size_bits, a) {
                    Ok((_, device)) => device,
                    Err(PlaceError::NotCovered) => return Err(AllocFailure::NoBlock),
                    Err(PlaceError::Invalid(e)) => return Err(AllocFailure::Invalid(e)),
                    Err(_) => return Err(AllocFailure::NoBlock),
                };
                let alloc = if device { &mut *self.device } else { &mut *self.ram };
                alloc.alloc_addr(a, size).map_err(range_failure)?;
                (a, device)
            }
        };
        match self.placer.place(k, ty, size_bits, base) {
            Ok(p) => Ok(Placed { handle: Self::handle(p.node, p.generation), paddr: base, slot: p.slot }),
            Err(e) => {
                let alloc = if device { &mut *self.device } else { &mut *self.ram };
                let _ = alloc.free(base);
                Err(match e {
                    PlaceError::Kernel(e) => AllocFailure::Refused(e),
                    PlaceError::Capacity => AllocFailure::Capacity,
                    PlaceError::Invalid(e) => AllocFailure::Invalid(e),
                    // The allocator chose a block the pool cannot use: a disagreement between
                    // them, reported as the kernel would see it.
                    PlaceError::Busy(_) | PlaceError::NotCovered => {
                        AllocFailure::Refused(KernelError::NotEnoughMemory { bytes_left: 0 })
                    }
                })
            }
        }
    }
}

fn range_failure(e: RangeError) -> AllocFailure {
    match e {
        RangeError::OutOfMetadata => AllocFailure::Capacity,
        _ => AllocFailure::NoBlock,
    }
}

impl<const N: usize, P, C> Strategy for Ours<'_, N, P, C>
where
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
    C: AsRef<[CapEntry]> + AsMut<[CapEntry]>,
{
    fn name(&self) -> &'static str {
        "ours"
    }

    fn alloc<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
    ) -> Result<Placed, AllocFailure> {
        self.alloc_at(k, ty, size_bits, addr, None)
    }

    fn free<K: Kernel>(&mut self, k: &mut K, h: Handle) -> Result<(), FreeError> {
        let node = self.node_of(h).ok_or(FreeError::InvalidHandle)?;
        let n = self.placer.pool.info(node);
        match self.placer.release(k, node) {
            Ok(()) => {}
            Err(PlaceError::Kernel(e)) => return Err(FreeError::Kernel(e)),
            Err(_) => return Err(FreeError::InvalidHandle),
        }
        let alloc = if n.device { &mut *self.device } else { &mut *self.ram };
        let _ = alloc.free(n.paddr);
        Ok(())
    }

    /// The largest naturally aligned free RAM block, verified by placing an untyped of that size
    /// there (through the kernel) and freeing it; smaller sizes are tried if that fails.
    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64 {
        let mut bits = match self.ram.largest_aligned_free_log2() {
            Some(b) => b.min(MAX_UNTYPED_BITS),
            None => return 0,
        };
        while bits >= MIN_UNTYPED_BITS {
            if let Ok(p) = self.alloc(k, ObjectType::Untyped, bits, None) {
                if self.free(k, p.handle).is_ok() {
                    return 1u64 << bits;
                }
            }
            bits -= 1;
        }
        0
    }
}

#[cfg(test)]
mod measure;
#[cfg(test)]
mod tests;
