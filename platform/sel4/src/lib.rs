//! Typed seL4 API for x86_64 (seL4 5.0.0): caps, syscalls, IPC buffer,
//! bootinfo, errors and invocations. Every kernel number (labels, syscall
//! numbers, object types and sizes, error codes) is generated at build time
//! from the kernel's interface files for the configuration in use
//! (`sel4-config`), never typed by hand.
#![cfg_attr(not(test), no_std)]

mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

pub mod bootinfo;
pub mod cptr;
pub mod error;
pub mod invocations;
pub mod ipc_buffer;
pub mod message_info;
pub mod object;
pub mod syscalls;

pub use bootinfo::{BootInfo, BootInfoError, SlotRegion, UntypedDesc};
pub use cptr::{cap, cap_type, init_thread, AbsoluteCPtr, CPtr, Cap, CapType};
pub use error::{Error, LookupFailure, Result};
pub use generated::{
    sys, InvocationLabel, Syscall, N_ARCH_INVOCATION_LABELS, N_INVOCATION_LABELS, N_SEL4_ARCH_INVOCATION_LABELS,
};
pub use invocations::{CapRights, UserContext, VmAttributes};
pub use ipc_buffer::IpcBuffer;
pub use message_info::MessageInfo;
pub use object::{ObjectBlueprint, ObjectType};

/// The kernel's machine word (`seL4_Word`).
pub type Word = u64;

/// Bits in a word (`seL4_WordBits`).
pub const WORD_BITS: usize = sys::seL4_WordBits as usize;

/// Every generated number under its C name (`("UntypedRetype", 1)`, ...),
/// for checking against libsel4's own generated headers.
pub const GENERATED_C_CONSTANTS: &[(&str, i128)] = generated::C_CHECK;
