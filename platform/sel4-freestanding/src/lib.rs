//! sel4-freestanding: the symbols the precompiled `core` and `compiler_builtins` libraries
//! need from a freestanding program (a root task or a service; their runtimes link this
//! crate): the [`mem`] functions and `rust_eh_personality`.
//!
//! The symbols exist only outside `cfg(test)`, so a host test binary keeps libc's; a runtime
//! refers to this crate only outside its own tests, for the same reason.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod mem;

/// The precompiled libcore refers to this symbol even with panic=abort.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}
