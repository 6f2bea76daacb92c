//! sel4-core: the library of core, the seL4 root task that owns all physical memory and places
//! every kernel object at the physical address its own allocator chose (`no_std`, tested on the
//! host against `sel4-kernel-model`; the same code runs inside the root task).
//!
//! How a request becomes an object:
//! 1. [`phys_allocator::PhysAllocator`] takes the request (type, size, and optionally an
//!    address or a physical range) and asks a [`range_allocator::RangeAllocator`] (RAM or
//!    device memory, Genode `Allocator_avl` semantics) for a naturally aligned block.
//! 2. [`placement::Placer`] finds the block in the [`untyped_pool::UntypedPool`] (a binary tree
//!    of untyped caps under every boot untyped), splits free untypeds in halves down to a leaf
//!    of exactly that block, and retypes the object from the leaf, so the kernel's watermark
//!    puts it exactly there. Cap slots come from [`cap_space::CapSpace`].
//! 3. Every invocation goes through the [`kernel::Kernel`] trait: the real kernel in the root
//!    task, the kernel model on the host. Object types and sizes are in [`object`].
//! 4. Freeing revokes the leaf (every copy of the object's cap dies), and the range allocator
//!    gets the block back; [`memory_map`] dumps the pool for the run tool's pictures.
//!
//! 5. A child's request to a session ([`session::Sessions::serve`]) checks its cost against the
//!    session's quota, places its objects through step 1 and makes the kernel invocations on
//!    the child's PD through [`session::pd::Pd`]; a request that fails frees what it placed.
//!
//! 6. A child's protection domain is built the same way ([`loader::load`]): every object of
//!    its image, stack, paging, CNode and thread placed through [`session::pd::Pd`] and
//!    charged to its budget through the sessions' pending charge. Every mapping, core's own,
//!    a loader's and a session's, goes through one VSpace walk ([`walk`]).
//!
//! 7. Channels between children ([`channel`]): which caps each end gets, with the badges core
//!    mints, and what core answers about an end; `root::channels` places what a child keeps
//!    across restarts (its TCB, notification, endpoint, shared memory) and hands the caps over.
//!
//! On the real kernel (feature `root-task`), `root` brings core up: it mirrors every untyped
//! from bootinfo, sizes core's metadata from the machine and maps it into core's own VSpace
//! (`root::state`, `root::vspace`), and grows the CSpace (`root::cspace`). The root task
//! `core` (`src/bin/root_task.rs`) is the product; self-tests are root tasks of their own
//! (`core/selftest`).
#![no_std]

extern crate alloc;

pub mod cap_space;
pub mod channel;
pub mod image;
pub mod kernel;
pub mod loader;
pub mod log_line;
pub mod memory_map;
pub mod object;
pub mod phys_allocator;
pub mod placement;
pub mod range_allocator;
#[cfg(feature = "root-task")]
pub mod root;
pub mod session;
pub mod size;
pub mod static_slab;
pub mod untyped_pool;
pub mod walk;
