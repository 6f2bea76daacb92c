//! Runtime for an seL4 root task on x86_64: the `_start` entry point and
//! stack, `declare_main!` to register the program's main function,
//! printing through a pluggable sink, a panic handler, exit through QEMU's
//! isa-debug-exit device, and (through `sel4-freestanding`) the symbols
//! the precompiled `core` library needs (`mem*`, `rust_eh_personality`).
//!
//! Before `main` runs, the runtime registers the initial thread's IPC buffer
//! for `sel4`'s invocations (`sel4::set_ipc_buffer`). Threads the program
//! starts in the same address space must not make `sel4` invocations: they
//! would borrow the initial thread's buffer.
//!
//! The runtime items that define global symbols (`_start`, the panic
//! handler, `memcpy`, ...) exist only outside `cfg(test)`, so the crate's
//! unit tests run as ordinary host programs.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod entry;
pub use entry::STACK_SIZE;
/// The root task's own image, as the shared linker script laid it out.
#[cfg(not(test))]
pub use sel4_runtime_common::image;
#[cfg(not(test))]
mod panicking;
pub mod printing;
pub mod termination;

pub use termination::{exit, Termination};

// Linked for its symbols (a crate nothing names is not linked); test binaries
// keep libc's.
#[cfg(not(test))]
use sel4_freestanding as _;

/// Not public API: used by `declare_main!`.
#[doc(hidden)]
pub mod _private {
    pub use sel4::BootInfo;
}

/// Registers `main` as the root task's entry function. It receives the
/// parsed bootinfo and returns anything that implements [`Termination`]
/// (`()`, `Result<(), E: Display>`, whose error it prints); when it returns,
/// the task exits (QEMU exits with success or failure).
#[macro_export]
macro_rules! declare_main {
    ($main:path) => {
        #[no_mangle]
        fn __sel4_root_task_main(bootinfo: &$crate::_private::BootInfo<'static>) -> u64 {
            $crate::Termination::report($main(bootinfo), &mut $crate::printing::Writer)
        }
    };
}
