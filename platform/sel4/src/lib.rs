//! Typed seL4 API for x86_64 (seL4 5.0.0): caps, syscalls, the IPC buffer,
//! bootinfo and invocations. The kernel's numbers, object types, the error
//! reply and the message info word come from `sel4-abi` (generated from the
//! kernel's interface files for the configuration in use, never typed by
//! hand) and are re-exported here.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod bootinfo;
pub mod cptr;
pub mod invocation_clock;
pub mod invocations;
pub mod ipc_buffer;
pub mod object;
pub mod syscalls;
pub mod tsc;

/// The kernel's numbers and layouts (the `sel4-abi` crate).
pub use sel4_abi as abi;
pub use sel4_abi::{error, message_info};

pub use bootinfo::{BootInfo, BootInfoError, SlotRegion, UntypedDesc};
pub use cptr::{cap, cap_type, init_thread, AbsoluteCPtr, CPtr, Cap, CapType};
pub use invocation_clock::{invocation_time, InvocationTime};
pub use invocations::{CapRights, UserContext, VmAttributes};
pub use ipc_buffer::{message_word, set_ipc_buffer, set_message_word, IpcBuffer};
pub use object::ObjectBlueprint;
pub use sel4_abi::{
    sys, CNodeCapData, Error, FaultType, InvocationLabel, LookupFailure, MessageInfo, ObjectType, Result, Syscall,
    Word, GENERATED_C_CONSTANTS, N_ARCH_INVOCATION_LABELS, N_INVOCATION_LABELS, N_SEL4_ARCH_INVOCATION_LABELS,
};
pub use tsc::rdtsc;

/// Bits in a word (`seL4_WordBits`).
pub const WORD_BITS: usize = sel4_abi::WORD_BITS as usize;
