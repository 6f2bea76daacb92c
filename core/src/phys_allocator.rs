//! core's physical allocator: how an allocation request becomes a kernel object at a physical
//! address. Range allocators (one for RAM, one for device memory) choose the block,
//! [`Placer`] makes the kernel create the object exactly there.

use crate::cap_space::CapEntry;
use crate::kernel::{Capacity, Kernel, KernelError, Slot};
use crate::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};
use crate::placement::{PlaceError, Placer};
use crate::range_allocator::{RangeAllocator, RangeError, RangeNode, Slab, SLAB_BYTES_PER_NODE};
use crate::untyped_pool::{NodeId, NodeState, PoolNode};

/// Metadata core provisions per live object, in quarters (measured at 10^5 live objects of
/// mixed sizes: about 2 pool nodes, 3 cap slots and 1 RAM block per object; each gets a quarter
/// more). Core sizes its metadata by these and charges each object of a session its share.
pub const POOL_NODES_PER_4_OBJECTS: usize = 10;
pub const CAP_SLOTS_PER_4_OBJECTS: usize = 15;
pub const RAM_BLOCKS_PER_4_OBJECTS: usize = 5;

/// Bytes of core's allocator metadata provisioned per live object.
pub const METADATA_PER_OBJECT: u64 = ((POOL_NODES_PER_4_OBJECTS * size_of::<PoolNode>()
    + CAP_SLOTS_PER_4_OBJECTS * size_of::<CapEntry>()
    + RAM_BLOCKS_PER_4_OBJECTS * SLAB_BYTES_PER_NODE)
    / 4) as u64;

/// Opaque reference to one live allocation; only meaningful to the allocator that returned it
/// (it may pack an index and a generation into it to detect stale handles).
#[derive(Copy, Clone, Eq, PartialEq, Ord, PartialOrd, Hash, Debug)]
pub struct ObjectId(pub u64);

/// A successful allocation: the object's cap is in `slot` of core's CSpace and the object starts
/// at physical address `paddr`.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub struct Placed {
    pub handle: ObjectId,
    pub paddr: u64,
    pub slot: Slot,
}

/// Why an allocation did not happen.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum AllocFailure {
    /// The allocator found no block (or the requested address is not free).
    NoBlock,
    /// The allocator chose a block but the kernel could not place the object there. Every state
    /// change of the attempt has been rolled back.
    Refused(KernelError),
    /// The kernel created the object at `paddr`, not in the block the allocator chose, and it
    /// was deleted again: what a strategy gets that leaves the address to the kernel's
    /// watermark. core's own placement never reports it (it makes the chosen block the
    /// kernel's).
    Elsewhere { paddr: u64 },
    /// The range allocator chose a block the untyped pool cannot use: core's two mirrors
    /// disagree (a bug, never a kernel refusal). The attempt has been rolled back.
    Disagreement,
    /// A fixed capacity (metadata, cap slots, pool nodes) ran out.
    Capacity(Capacity),
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

/// The four slabs of a [`PhysAllocator`]'s metadata.
pub struct Storage<R, P, C> {
    /// Nodes of the RAM range allocator.
    pub ram: R,
    /// Nodes of the device-memory range allocator.
    pub device: R,
    /// Nodes of the untyped pool.
    pub pool: P,
    /// Entries of the cap space.
    pub caps: C,
}

/// Why [`PhysAllocator::new`] failed.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum SetupError {
    /// A root could not be added to a range allocator (overlap or metadata capacity).
    Ranges(RangeError),
}

impl From<RangeError> for SetupError {
    fn from(e: RangeError) -> Self {
        SetupError::Ranges(e)
    }
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SetupError::Ranges(e) => write!(f, "cannot add an untyped to a range allocator: {e}"),
        }
    }
}

impl core::fmt::Display for AllocFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AllocFailure::NoBlock => write!(f, "no free block satisfies the request"),
            AllocFailure::Refused(e) => write!(f, "the kernel refused the chosen block: {e}"),
            AllocFailure::Disagreement => write!(f, "core's range allocator and untyped pool disagree"),
            AllocFailure::Elsewhere { paddr } => write!(f, "the kernel put the object at {paddr:#x}, not where chosen"),
            AllocFailure::Capacity(c) => write!(f, "capacity of {c} exhausted"),
            AllocFailure::Invalid(e) => write!(f, "invalid request: {e}"),
        }
    }
}

impl core::fmt::Display for FreeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FreeError::InvalidHandle => write!(f, "the handle names no live allocation"),
            FreeError::Kernel(e) => write!(f, "the kernel refused: {e}"),
        }
    }
}

/// core's physical allocator: a range allocator for RAM and one for device memory choose naturally
/// aligned blocks (boundaries at every root, so no block spans two roots), and the
/// [`Placer`] makes the kernel create the object exactly there (see `placement` for the
/// method and its cost). A kernel refusal rolls the allocator back; it does not happen
/// (property tests on random traces, `tests/phys_allocator.rs`).
///
/// Handles pack the leaf node and its generation, so a stale or forged handle is rejected.
pub struct PhysAllocator<'s, R, P, C> {
    ram: &'s mut RangeAllocator<R>,
    device: &'s mut RangeAllocator<R>,
    pub placer: Placer<P, C>,
}

impl<'s, R, P, C> PhysAllocator<'s, R, P, C>
where
    R: Slab<RangeNode>,
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
    C: AsRef<[CapEntry]> + AsMut<[CapEntry]>,
{
    /// `ram` and `device` must be empty; every root of the placer's pool is added to one of them.
    pub fn new(
        ram: &'s mut RangeAllocator<R>,
        device: &'s mut RangeAllocator<R>,
        placer: Placer<P, C>,
    ) -> Result<Self, SetupError> {
        for r in placer.pool.roots() {
            let a = if r.device { &mut *device } else { &mut *ram };
            let end = r.paddr + (1u64 << r.bits);
            a.add_boundary(r.paddr)?;
            a.add_boundary(end)?;
            a.add_range(r.paddr, 1u64 << r.bits)?;
        }
        Ok(PhysAllocator { ram, device, placer })
    }

    /// Moves the allocator's metadata onto new storage, each at least as large as what is in
    /// use (range allocators: the nodes used so far; pool and cap space: their capacity). Every
    /// handle, node id and slot stays valid; capacities become the new storage's sizes. Checks
    /// all four first: on failure, naming the capacity that is too small, nothing changed.
    /// Returns the old storage.
    pub fn replace_storage(&mut self, storage: Storage<R, P, C>) -> Result<Storage<R, P, C>, Capacity> {
        let Storage { ram, device, pool, caps } = storage;
        if !self.ram.can_move_to(ram.as_ref().len()) || !self.device.can_move_to(device.as_ref().len()) {
            return Err(Capacity::RangeBlocks);
        }
        if !self.placer.pool.can_move_to(pool.as_ref().len()) {
            return Err(Capacity::PoolNodes);
        }
        if !self.placer.caps.can_move_to(caps.as_ref().len()) {
            return Err(Capacity::CapSlots);
        }
        // Checked above: none of these gives its storage back.
        let ram = self.ram.replace_storage(ram).map_err(|_| Capacity::RangeBlocks)?;
        let device = self.device.replace_storage(device).map_err(|_| Capacity::RangeBlocks)?;
        let pool = self.placer.pool.replace_storage(pool).map_err(|_| Capacity::PoolNodes)?;
        let caps = self.placer.caps.replace_storage(caps).map_err(|_| Capacity::CapSlots)?;
        Ok(Storage { ram, device, pool, caps })
    }

    pub fn ram(&self) -> &RangeAllocator<R> {
        self.ram
    }

    pub fn device(&self) -> &RangeAllocator<R> {
        self.device
    }

    fn handle(node: NodeId, generation: u32) -> ObjectId {
        ObjectId((generation as u64) << 32 | node.0 as u64)
    }

    /// The leaf behind a handle, if the handle names a live object.
    pub fn node_of(&self, h: ObjectId) -> Option<NodeId> {
        let node = NodeId(h.0 as u32);
        if node.0 as usize >= self.placer.pool.capacity() {
            return None;
        }
        let n = self.placer.pool.info(node);
        let live = matches!(n.state, NodeState::Occupied { .. }) && n.generation == (h.0 >> 32) as u32;
        live.then_some(node)
    }

    /// Physical address, type and core's cap slot of a live object.
    pub fn object(&self, h: ObjectId) -> Option<(u64, ObjectType, Slot)> {
        let node = self.node_of(h)?;
        let (ty, slot) = self.placer.object(node)?;
        Some((self.placer.pool.info(node).paddr, ty, slot))
    }

    /// Creates one object of `ty`/`size_bits` (seL4's `size_bits` argument) in RAM, wherever
    /// the range allocator chooses.
    pub fn alloc<K: Kernel>(&mut self, k: &mut K, ty: ObjectType, size_bits: u8) -> Result<Placed, AllocFailure> {
        self.place(k, ty, size_bits, None, None, 0)
    }

    /// Creates one object at physical address `addr` (RAM or device memory).
    pub fn alloc_at<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: u64,
    ) -> Result<Placed, AllocFailure> {
        self.place(k, ty, size_bits, Some(addr), None, 0)
    }

    /// Creates 2^`count_log2` objects of `ty`/`size_bits` side by side from physical address
    /// `addr` on (RAM or device memory), with one retype from one leaf of their total size
    /// (`count_log2` at most the kernel's fan-out, [`crate::cap_space::MAX_RUN_LOG2`]): their
    /// caps are in consecutive slots from `slot`. One handle frees them all.
    pub fn alloc_run_at<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: u64,
        count_log2: u8,
    ) -> Result<Placed, AllocFailure> {
        self.place(k, ty, size_bits, Some(addr), None, count_log2)
    }

    /// The RAM block of `size` bytes (any multiple of 4 KiB), aligned to `2^align_log2`, within
    /// `range` if given, that the range allocator would choose now: objects placed with
    /// [`Self::alloc_at`] at consecutive addresses inside it go there, as long as nothing else is
    /// allocated in between. Allocates nothing.
    pub fn find_block(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure> {
        self.ram.peek(size, align_log2, range).map_err(range_failure)
    }

    /// Like [`Self::find_block`], for a block that may span several boot untypeds (whose
    /// boundaries the range allocator keeps blocks from crossing): the lowest address aligned to
    /// `2^align_log2`, within `range` if given, where `size` bytes of RAM are free and
    /// physically contiguous. Each naturally aligned run inside it lies in one untyped (boot
    /// untypeds are naturally aligned blocks), so it can be placed with
    /// [`Self::alloc_run_at`]. Walks the free blocks in address order. Allocates nothing.
    pub fn find_span(&self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure> {
        let (lo, hi) = range.unwrap_or((0, u64::MAX));
        if size == 0 || align_log2 >= 64 || lo >= hi {
            return Err(AllocFailure::NoBlock);
        }
        let mask = (1u64 << align_log2) - 1;
        // The span of adjacent free blocks being looked at: [start, end).
        let (mut start, mut end) = (0u64, 0u64);
        for b in self.ram.iter() {
            if b.used {
                continue;
            }
            if b.base != end {
                start = b.base;
            }
            end = b.end();
            let Some(at) = start.max(lo).checked_add(mask).map(|a| a & !mask) else { break };
            if at.checked_add(size).is_some_and(|e| e <= end.min(hi)) {
                return Ok(at);
            }
            if end >= hi {
                break;
            }
        }
        Err(AllocFailure::NoBlock)
    }

    /// Like [`Self::alloc`], but the block must lie in `[lo, hi)` (e.g. DMA below 4 GiB).
    pub fn alloc_in<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        lo: u64,
        hi: u64,
    ) -> Result<Placed, AllocFailure> {
        self.place(k, ty, size_bits, None, Some((lo, hi)), 0)
    }

    fn place<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
        range: Option<(u64, u64)>,
        count_log2: u8,
    ) -> Result<Placed, AllocFailure> {
        let bits = match Placer::<P, C>::run_bits(ty, size_bits, count_log2) {
            Ok(b) => b,
            Err(PlaceError::Invalid(e)) => return Err(AllocFailure::Invalid(e)),
            Err(_) => return Err(AllocFailure::NoBlock),
        };
        if bits > MAX_UNTYPED_BITS {
            // Larger than any untyped: the kernel's memory check refuses it.
            return Err(AllocFailure::Invalid(KernelError::NotEnoughMemory { bytes_available: 0 }));
        }
        let size = 1u64 << bits;
        let (base, device) = match addr {
            None => {
                let a = self.ram.alloc(size, bits, range).map_err(range_failure)?;
                (a, false)
            }
            Some(a) => {
                if a & (size - 1) != 0 {
                    return Err(AllocFailure::Invalid(KernelError::AlignmentError));
                }
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
        match self.placer.place_run(k, ty, size_bits, base, count_log2) {
            Ok(p) => Ok(Placed { handle: Self::handle(p.node, p.generation), paddr: base, slot: p.slot }),
            Err(e) => {
                let alloc = if device { &mut *self.device } else { &mut *self.ram };
                // The block allocated above: freeing it cannot fail.
                let _ = alloc.free(base);
                Err(match e {
                    PlaceError::Kernel(e) => AllocFailure::Refused(e),
                    PlaceError::Capacity(c) => AllocFailure::Capacity(c),
                    PlaceError::Invalid(e) => AllocFailure::Invalid(e),
                    PlaceError::Busy(_) | PlaceError::NotCovered => AllocFailure::Disagreement,
                })
            }
        }
    }

    /// Destroys the object (revoking its leaf untyped, so copies of its cap die too) and makes
    /// its memory allocatable again.
    pub fn free<K: Kernel>(&mut self, k: &mut K, h: ObjectId) -> Result<(), FreeError> {
        let node = self.node_of(h).ok_or(FreeError::InvalidHandle)?;
        let n = self.placer.pool.info(node);
        match self.placer.release(k, node) {
            Ok(()) => {}
            Err(PlaceError::Kernel(e)) => return Err(FreeError::Kernel(e)),
            Err(_) => return Err(FreeError::InvalidHandle),
        }
        let alloc = if n.device { &mut *self.device } else { &mut *self.ram };
        // Every live object's block is allocated in its range allocator: freeing it cannot fail.
        let _ = alloc.free(n.paddr);
        Ok(())
    }

    /// The largest naturally aligned free RAM block, verified by placing an untyped of that size
    /// there (through the kernel) and freeing it; smaller sizes are tried if that fails.
    /// Merges back every split untyped subtree that holds no live object ([`Placer::compact`]);
    /// the number of merges.
    pub fn compact<K: Kernel>(&mut self, k: &mut K) -> Result<u64, PlaceError> {
        self.placer.compact(k)
    }

    pub fn largest_free<K: Kernel>(&mut self, k: &mut K) -> u64 {
        let mut bits = match self.ram.largest_aligned_free_log2() {
            Some(b) => b.min(MAX_UNTYPED_BITS),
            None => return 0,
        };
        while bits >= MIN_UNTYPED_BITS {
            if let Ok(p) = self.alloc(k, ObjectType::Untyped, bits) {
                if self.free(k, p.handle).is_ok() {
                    return 1u64 << bits;
                }
            }
            bits -= 1;
        }
        0
    }
}

fn range_failure(e: RangeError) -> AllocFailure {
    match e {
        RangeError::OutOfMetadata => AllocFailure::Capacity(Capacity::RangeBlocks),
        _ => AllocFailure::NoBlock,
    }
}
