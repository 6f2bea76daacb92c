//! Allocation strategies as trace replay drives them: core's own [`PhysAllocator`] and the
//! baselines it is compared with, behind one trait, against any [`Kernel`].

use sel4_core::cap_space::CapEntry;
use sel4_core::kernel::Kernel;
use sel4_core::object::ObjectType;
use sel4_core::phys_allocator::PhysAllocator;
pub use sel4_core::phys_allocator::{AllocFailure, FreeError, ObjectId, Placed};
use sel4_core::range_allocator::{RangeNode, Slab};
use sel4_core::untyped_pool::PoolNode;

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
    fn free<K: Kernel>(&mut self, k: &mut K, h: ObjectId) -> Result<(), FreeError>;

    /// Largest block (bytes) that could be allocated now, verified against the kernel (e.g. by
    /// allocating it as an untyped and freeing it again). Leaves live allocations untouched.
    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64;
}

/// core's allocator as a strategy (`ours` in reports).
impl<R, P, C> Strategy for PhysAllocator<'_, R, P, C>
where
    R: Slab<RangeNode>,
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
        match addr {
            Some(a) => PhysAllocator::alloc_at(self, k, ty, size_bits, a),
            None => PhysAllocator::alloc(self, k, ty, size_bits),
        }
    }

    fn free<K: Kernel>(&mut self, k: &mut K, h: ObjectId) -> Result<(), FreeError> {
        PhysAllocator::free(self, k, h)
    }

    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64 {
        self.largest_free(k)
    }
}
