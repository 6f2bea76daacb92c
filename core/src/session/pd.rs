//! What serving a session needs of the machine: core's allocator (objects placed, freed) and
//! the kernel invocations on the child's protection domain (its VSpace, CNode and threads).
//! The root task implements it on the real kernel; the host implements it on the kernel model,
//! so the session logic and its accounting are tested there.

use sel4_core_protocol::CacheAttr;

use crate::kernel::Slot;
use crate::object::ObjectType;
use crate::phys_allocator::{AllocFailure, ObjectId, Placed};

pub use crate::walk::MapFailure;

/// Rights of a cap core copies into the child's CNode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rights {
    All,
    ReadWrite,
    /// Send and grant, never receive: to call an endpoint, not listen on it (grant: without
    /// it the reply never arrives, `endpoint.c:sendIPC`).
    Call,
    /// Receive only: the endpoint a server listens on.
    Receive,
    /// Send only: a notification a peer signals.
    Signal,
}

/// What a minted cap carries besides its rights.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CapData {
    /// An endpoint's badge.
    Badge(u64),
    /// For the child's own CNode: the guard that makes its slot numbers CPtrs at full depth.
    Guard,
    /// For an I/O port cap: the ports `first..=last` it is cut to (the kernel only lets a
    /// port cap shrink, `Arch_updateCapData`).
    Ports { first: u16, last: u16 },
}

/// A thread's registers when it starts: its entry point, stack pointer and first four
/// arguments (`rdi`, `rsi`, `rdx`, `rcx`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    pub entry: u64,
    pub stack: u64,
    pub arg: u64,
    pub arg2: u64,
    pub arg3: u64,
    pub arg4: u64,
}

/// Core's allocator and the child's PD, as a session uses them. Every slot is in core's CSpace;
/// `child_slot`s are slots of the child's CNode.
pub trait Pd {
    /// Places an object anywhere core's allocator chooses.
    fn alloc(&mut self, ty: ObjectType, size_bits: u8) -> Result<Placed, AllocFailure>;
    /// Places 2^`count_log2` objects of `ty` side by side from `paddr` on, with one retype
    /// (`PhysAllocator::alloc_run_at`); one handle frees them all.
    fn alloc_run_at(&mut self, ty: ObjectType, paddr: u64, count_log2: u8) -> Result<Placed, AllocFailure>;
    /// A free RAM block of `size` bytes aligned to `2^align_log2`, inside `[lo, hi)` if given,
    /// within one boot untyped (`PhysAllocator::find_block`).
    fn find_block(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure>;
    /// The same, possibly across boot untypeds (`PhysAllocator::find_span`).
    fn find_span(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure>;
    /// Frees an object: revoking its leaf removes every copy and mapping of it.
    fn free(&mut self, object: ObjectId);

    /// Makes `vspace` (a PML4 placed for the child, given an ASID here) and `cnode` (its
    /// CNode of 2^`cnode_bits` slots) the PD the other methods work on; the loader's first step.
    fn attach(&mut self, vspace: Slot, cnode: Slot, cnode_bits: u8) -> bool;
    /// Writes `bytes` into frame `frame` (4 KiB) at `offset`, through core's own mapping.
    fn fill(&mut self, frame: Slot, offset: u64, bytes: &[u8]) -> bool;

    /// Maps frame `frame` (of type `ty`) at `vaddr` in the child's VSpace, read-write or
    /// read-only.
    fn map_frame(
        &mut self,
        frame: Slot,
        ty: ObjectType,
        vaddr: u64,
        cache: CacheAttr,
        writable: bool,
    ) -> Result<(), MapFailure>;
    /// Maps paging structure `table` (of type `ty`) covering `vaddr` in the child's VSpace.
    fn map_table(&mut self, table: Slot, ty: ObjectType, vaddr: u64) -> Result<(), MapFailure>;
    /// Unmaps frame `frame` (of type `ty`) from the child's VSpace.
    fn unmap_frame(&mut self, frame: Slot, ty: ObjectType);

    /// Copies the cap in `from` into `child_slot`; false if that slot is occupied or absent.
    fn copy_cap(&mut self, from: Slot, child_slot: u64, rights: Rights) -> bool;
    /// Mints the cap in `from` into `child_slot` with `data`; false if that slot is occupied
    /// or absent.
    fn mint_cap(&mut self, from: Slot, child_slot: u64, rights: Rights, data: CapData) -> bool;
    /// Deletes the cap in `child_slot`.
    fn delete_cap(&mut self, child_slot: u64);

    /// Configures TCB `tcb` as a thread of the child at `prio`, with the IPC buffer frame
    /// `ipc_frame` (mapped at `ipc_vaddr`) and the child's fault endpoint, CSpace and VSpace.
    fn thread_configure(&mut self, tcb: Slot, ipc_frame: Slot, ipc_vaddr: u64, prio: u8) -> bool;
    fn thread_registers(&mut self, tcb: Slot, regs: Registers) -> bool;
    fn thread_resume(&mut self, tcb: Slot) -> bool;
    fn thread_suspend(&mut self, tcb: Slot) -> bool;
}
