//! Entry point. Core starts the service's first thread at the ELF entry with the stack pointer
//! at the top of a stack it mapped, `rdi` = the IPC buffer's address, `rsi` = the service's
//! index, `rdx` = its heap setting and `rcx` = how often core restarted it
//! (`sel4-core-protocol`'s `abi`). `_start` aligns the stack as the C ABI wants at a call
//! (whatever core handed over) and calls Rust with the four registers untouched.

#[cfg(not(test))]
core::arch::global_asm!(
    ".pushsection .text._start, \"ax\", @progbits",
    ".globl _start",
    ".type _start, @function",
    "_start:",
    "    and rsp, -16",
    "    xor ebp, ebp",
    // RDI (IPC buffer), RSI (index), RDX (heap setting) and RCX (restarts) are the first four
    // arguments.
    "    call {entry}",
    "    ud2",
    ".size _start, . - _start",
    ".popsection",
    entry = sym rust_entry,
);

#[cfg(not(test))]
extern "Rust" {
    /// Defined by `declare_main!` in the program: runs main, returns the exit code.
    fn __sel4_runtime_main(index: usize) -> u64;
}

/// Called once, by `_start`, with the registers core set.
#[cfg(not(test))]
unsafe extern "C" fn rust_entry(ipc_buffer: usize, index: usize, heap: u64, restarts: u64) -> ! {
    // SAFETY: core maps the thread's IPC buffer frame, writable, at this address for the life
    // of the thread (it configured the TCB with it); nothing else in the program refers to it;
    // this is the only thread of the address space until the program starts others, and
    // those must not make invocations (see the crate documentation). A misaligned buffer
    // panics, and requests to core travel in registers only, so that still reaches core's log.
    unsafe { sel4_runtime_common::register_ipc_buffer(ipc_buffer as *mut sel4::IpcBuffer) };
    crate::heap::set_limit(heap);
    crate::RESTARTS.store(restarts, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: `declare_main!` defines this symbol with exactly this signature.
    let code = unsafe { __sel4_runtime_main(index) };
    crate::exit(code)
}
