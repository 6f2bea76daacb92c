//! sel4-freestanding: the symbols the precompiled `core` and `compiler_builtins` libraries
//! need from a freestanding program (a root task or a service; their runtimes link this
//! crate): the [`mem`] functions, `rust_eh_personality` and `_Unwind_Resume`.
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

/// The precompiled `alloc` library was built to unwind, so its cleanup paths (`format!`'s, for
/// one) name this symbol. With panic=abort nothing unwinds and nothing reaches them; should
/// anything ever, it traps (an invalid-opcode fault core reports) rather than run on.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: `ud2` only raises the invalid-opcode exception; it touches no memory or register.
    unsafe { core::arch::asm!("ud2", options(noreturn, nomem, nostack)) }
}
