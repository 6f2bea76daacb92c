//! Allocation strategies: how an allocation request becomes a kernel object at some physical
//! address. Every strategy (core's own and the baselines it is compared with) implements
//! [`Strategy`]; trace replay drives them through it against any [`Kernel`].

use crate::kernel::{Kernel, KernelError, Slot};
use crate::object::ObjectType;

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
