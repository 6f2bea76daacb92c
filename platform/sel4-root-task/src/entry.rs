//! Entry point. The kernel starts the root task with every register zero
//! except RIP and RDI, which holds the bootinfo frame's address
//! (`src/kernel/boot.c:create_initial_thread` sets `capRegister`, RDI on
//! x86_64; `src/arch/x86/64/machine/registerset.c:Mode_initContext` zeroes
//! the rest, RSP included). `_start` sets up a stack and calls Rust.

/// Bytes of the initial thread's stack (in `.bss`).
pub const STACK_SIZE: usize = 256 * 1024;

#[cfg(not(test))]
core::arch::global_asm!(
    ".pushsection .bss.sel4_root_task_stack, \"aw\", @nobits",
    ".balign 4096",
    "__sel4_root_task_stack_bottom:",
    ".space {size}",
    "__sel4_root_task_stack_top:",
    ".popsection",
    ".pushsection .text._start, \"ax\", @progbits",
    ".globl _start",
    ".type _start, @function",
    "_start:",
    "    lea rsp, [rip + __sel4_root_task_stack_top]",
    "    xor ebp, ebp",
    // RDI (bootinfo) is passed through as the first argument.
    "    call {entry}",
    "    ud2",
    ".size _start, . - _start",
    ".popsection",
    size = const STACK_SIZE,
    entry = sym rust_entry,
);

#[cfg(not(test))]
extern "Rust" {
    /// Defined by `declare_main!` in the program.
    fn __sel4_root_task_main(bootinfo: &sel4::BootInfo<'static>) -> u64;
}

/// Called once, by `_start`, with the address the kernel passed in RDI.
#[cfg(not(test))]
unsafe extern "C" fn rust_entry(bootinfo: *const u8) -> ! {
    // SAFETY: the kernel maps the 4 KiB bootinfo frame at this address for
    // the life of the task and never changes it.
    let bi = match unsafe { sel4::BootInfo::from_ptr(bootinfo) } {
        Ok(bi) => bi,
        Err(e) => panic!("unusable bootinfo at {bootinfo:p}: {e:?}"),
    };
    // SAFETY: the kernel maps the root task's IPC buffer frame, writable, at bootinfo's
    // `ipcBuffer` for the life of the task (`src/kernel/boot.c:create_ipcbuf_frame`); nothing
    // else refers to it; the root task is the only thread of its address space until the
    // program starts others, and those must not make invocations (see the crate documentation).
    unsafe { sel4_runtime_common::register_ipc_buffer(bi.ipc_buffer() as *mut sel4::IpcBuffer) };
    // SAFETY: `declare_main!` defines this symbol with exactly this signature.
    let code = unsafe { __sel4_root_task_main(&bi) };
    crate::exit(code == sel4_runtime_common::EXIT_SUCCESS)
}
