//! How core starts a child: the slots of the child's CSpace that core fills, and the registers
//! its first thread starts with. The child's CNode is the root of its CSpace with a guard that
//! makes a slot number its CPtr at depth 64.
//!
//! The first thread starts at the ELF entry with the stack pointer at the top of its stack (16
//! bytes aligned), `rdi` = the virtual address of its IPC buffer (also its GS base), `rsi` =
//! its index in the system description, `rdx` = its heap setting in bytes (`heap=` in the
//! system description: what its runtime's heap may take from its budget), `rcx` = how often core
//! restarted it (0 at its first start).

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
/// The child's own notification, bound to its first thread: its peers' signals arrive here
/// (badge bit `id` for the child's channel `id`). Only for a child with channels.
pub const NOTIFICATION: u64 = 6;
/// The child's own endpoint, where the calls of its channels' clients arrive (badge
/// [`CALL_BADGE`] | the channel id). Only for a child that serves a call channel.
pub const RECEIVE_ENDPOINT: u64 = 7;
/// First slot core leaves to the child. A child with channels finds the caps of its channel
/// `id` at [`notify_slot`] and [`call_slot`], from here up; its own caps go above them.
pub const FIRST_FREE_SLOT: u64 = 16;

/// Channel ids: below the bits a badge holds (`seL4_BadgeBits`) less one, the bit that marks a
/// call on the receive endpoint (as Microkit does, so one receive tells the two apart).
pub const CHANNEL_IDS: u64 = sel4_abi::sys::seL4_BadgeBits - 1;
/// The badge bit of a call on [`RECEIVE_ENDPOINT`]; the bits below it are the channel id.
pub const CALL_BADGE: u64 = 1 << CHANNEL_IDS;

/// The slot of the cap that signals the peer of channel `id`.
pub const fn notify_slot(id: u64) -> u64 {
    FIRST_FREE_SLOT + 2 * id
}

/// The slot of the cap that calls the server of channel `id` (the client's end only).
pub const fn call_slot(id: u64) -> u64 {
    FIRST_FREE_SLOT + 2 * id + 1
}

/// The slot of the cap to the `index`-th I/O port range granted to the service, above every
/// channel's caps.
pub const fn port_slot(index: u64) -> u64 {
    FIRST_FREE_SLOT + 2 * CHANNEL_IDS + index
}

/// Where a service's runtime maps its heap's dataspaces, upwards (16 TiB: far above any image
/// and below the threads' IPC region at the top of the address space). A service that maps
/// dataspaces itself keeps below it.
pub const HEAP_BASE: u64 = 0x1000_0000_0000;

/// Where the run tool maps a channel's shared dataspace when the system description gives no
/// address (8 TiB: below [`HEAP_BASE`]): each service's in the order of its channels, each
/// from a multiple of [`SHARED_ALIGN`]. The runtime learns the address from core.
pub const SHARED_BASE: u64 = 0x0800_0000_0000;
/// The alignment of shared dataspaces the run tool places (1 GiB: each in paging of its own).
pub const SHARED_ALIGN: u64 = 1 << 30;

/// Where the run tool maps a service's device memory when the system description gives no
/// address (4 TiB: below [`SHARED_BASE`]), each grant from a multiple of [`SHARED_ALIGN`].
pub const DEVICE_BASE: u64 = 0x0400_0000_0000;

/// Where core maps a service's log buffer: the page between the top of its stack and its first
/// thread's IPC buffer, writable by the service and read by core, which prints the first `len`
/// bytes on a [`LogBuffer`](crate::Label::LogBuffer) request.
pub const LOG_BUFFER: u64 = 0x3fff_e000;
/// Bytes of the log buffer.
pub const LOG_BUFFER_BYTES: u64 = 4096;
