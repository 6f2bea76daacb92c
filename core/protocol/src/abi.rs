//! How core starts a child: the slots of the child's CSpace that core fills, and the registers
//! its first thread starts with. The child's CNode is the root of its CSpace with a guard that
//! makes a slot number its CPtr at depth 64.
//!
//! The first thread starts at the ELF entry with the stack pointer at the top of its stack (16
//! bytes aligned), `rdi` = the virtual address of its IPC buffer (also its GS base), `rsi` =
//! its index in the system description, `rdx` = its heap setting in bytes (`heap=` in the
//! system description: what its runtime's heap may take from its budget).

/// The endpoint to core, badged with the child's identity (send and grant rights).
pub const ENDPOINT: u64 = 1;
/// The child's own CNode.
pub const CNODE: u64 = 2;
/// The child's first thread.
pub const TCB: u64 = 3;
/// The child's VSpace (PML4).
pub const VSPACE: u64 = 4;
/// The endpoint the kernel sends the child's faults to (core's endpoint, badged as the child's
/// faults): the TCB names it by this CPtr.
pub const FAULT_ENDPOINT: u64 = 5;
/// First slot core leaves to the child.
pub const FIRST_FREE_SLOT: u64 = 16;

/// Where a service's runtime maps its heap's dataspaces, upwards (16 TiB: far above any image
/// and below the threads' IPC region at the top of the address space). A service that maps
/// dataspaces itself keeps below it.
pub const HEAP_BASE: u64 = 0x1000_0000_0000;

/// Where core maps a service's log buffer: the page between the top of its stack and its first
/// thread's IPC buffer, writable by the service and read by core, which prints the first `len`
/// bytes on a [`LogBuffer`](crate::Label::LogBuffer) request.
pub const LOG_BUFFER: u64 = 0x3fff_e000;
/// Bytes of the log buffer.
pub const LOG_BUFFER_BYTES: u64 = 4096;
