//! The seL4 kernel's numbers and data layouts on x86_64 (seL4 5.0.0) for the
//! kernel configuration in use (env `SEL4_CONFIG`, default `debug`): syscall
//! numbers, invocation labels, the integer constants of libsel4's headers
//! ([`sys`]), object types and sizes ([`ObjectType`]), limits, the error reply
//! ([`Error`]), the message info word ([`MessageInfo`]) and the bitfield words
//! of the interface ([`layout`], [`CNodeCapData`]).
//!
//! Every number is generated at build time from the kernel's own interface
//! files and headers, never typed by hand. The crate makes no system calls and
//! has no assembly, so host code (models of the kernel, tools, tests) and the
//! root task share the one source.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

pub mod bitfield;
pub mod cap_data;
pub mod error;
pub mod message_info;
pub mod object;
pub mod untyped;

pub use cap_data::CNodeCapData;
pub use error::{Error, LookupFailure, Result};
pub use generated::{
    kernel, layout, sys, FaultType, InvocationLabel, Syscall, CONFIG_NAME, N_ARCH_INVOCATION_LABELS,
    N_INVOCATION_LABELS, N_SEL4_ARCH_INVOCATION_LABELS,
};
pub use message_info::MessageInfo;
pub use object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS, RETYPE_FAN_OUT_LIMIT, SLOT_BITS};
pub use untyped::{kernel_aligned, kernel_vaddr, Slot, UntypedDesc};

/// The kernel's machine word (`seL4_Word`).
pub type Word = u64;

/// Bits in a word (`seL4_WordBits`).
pub const WORD_BITS: u8 = narrow(sys::seL4_WordBits);

/// log2 of the chunk in which the kernel zeroes a RAM untyped when it is reset
/// (`CONFIG_RESET_CHUNK_BITS`; `include/config.h` supplies the kernel's
/// fallback when the configuration leaves it out;
/// `src/object/untyped.c:resetUntypedCap`).
pub const RESET_CHUNK_BITS: u8 = narrow(kernel::CONFIG_RESET_CHUNK_BITS);

/// Start of the kernel's window onto physical memory
/// (`include/plat/pc99/plat/64/plat_mode/machine/hardware.h:PPTR_BASE`): the
/// kernel address of physical address 0. Boot untypeds are cut by the
/// alignment of their kernel address, and Retype aligns objects by it
/// (`src/kernel/boot.c:create_untypeds_for_region`,
/// `src/object/untyped.c:decodeUntypedInvocation`).
pub const PPTR_BASE: Word = kernel::PPTR_BASE;

/// Every generated number under its C name (`("UntypedRetype", 1)`, ...),
/// for checking against libsel4's own generated headers.
pub const GENERATED_C_CONSTANTS: &[(&str, i128)] = generated::C_CHECK;

/// `v` as a `u8`, refusing at compile time a value that does not fit (for
/// bit counts and log2 sizes taken from the generated constants).
const fn narrow(v: u64) -> u8 {
    assert!(v <= u8::MAX as u64, "kernel constant does not fit in u8");
    v as u8
}
