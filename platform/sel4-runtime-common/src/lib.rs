//! sel4-runtime-common: what every freestanding seL4 program here shares, whoever starts it
//! (the kernel starts the root task, `sel4-root-task`; core starts services, `sel4-runtime`),
//! in the spirit of rust-sel4's `sel4-runtime-common`:
//! - the image's layout (`image.ld`; each runtime's script sets its base address);
//! - [`register_ipc_buffer`], the first step after `_start`;
//! - [`report_panic`], what a panic prints, once;
//! - [`Termination`], what main's result means as an exit code;
//! - [`image::bss_bytes`], the image's `.bss` as the script laid it out.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::fmt::{self, Display, Write};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(not(test))]
pub mod image;

/// Registers the thread's IPC buffer at `buffer` for `sel4`'s invocations.
///
/// # Safety
/// Whoever started the thread maps its IPC buffer frame, writable, at `buffer` for the life
/// of the thread (the kernel for the root task, `src/kernel/boot.c:create_ipcbuf_frame`; core
/// for a service, which configured its TCB with it), and nothing else in the program refers
/// to it. This is the only thread of its address space until the program starts others, and
/// those must not make invocations.
pub unsafe fn register_ipc_buffer(buffer: *mut sel4::IpcBuffer) {
    assert!(!buffer.is_null() && buffer.is_aligned(), "IPC buffer at {buffer:p} is not aligned to its size");
    // SAFETY: aligned (checked above), mapped and exclusive by the caller's promise, so this is
    // its only reference.
    unsafe { sel4::set_ipc_buffer(&mut *buffer) };
}

static PANICKING: AtomicBool = AtomicBool::new(false);

/// Writes the panic's location and message to `out`, the first time only: a panic while
/// panicking (in the sink, or in a `Display` of the message) prints nothing more.
pub fn report_panic(info: &PanicInfo, out: &mut dyn Write) {
    if !PANICKING.swap(true, Ordering::SeqCst) {
        let _ = match info.location() {
            Some(l) => writeln!(out, "panicked at {}:{}:{}: {}", l.file(), l.line(), l.column(), info.message()),
            None => writeln!(out, "panicked: {}", info.message()),
        };
    }
}

/// Exit code of a main that returned `()` or `Ok(())`.
pub const EXIT_SUCCESS: u64 = 0;
/// Exit code of a main that returned an error.
pub const EXIT_FAILURE: u64 = 1;
/// Exit code after a panic (Rust's own for a panicking process).
pub const EXIT_PANIC: u64 = 101;
/// Exit code after an allocation the heap could not serve.
pub const EXIT_ALLOC: u64 = 102;

/// What a program's main function may return.
pub trait Termination {
    /// The exit code; an error is written to `log` first.
    fn report(self, log: &mut dyn fmt::Write) -> u64;
}

impl Termination for () {
    fn report(self, _: &mut dyn fmt::Write) -> u64 {
        EXIT_SUCCESS
    }
}

impl<E: Display> Termination for Result<(), E> {
    fn report(self, log: &mut dyn fmt::Write) -> u64 {
        match self {
            Ok(()) => EXIT_SUCCESS,
            Err(e) => {
                // Nothing to do if the log refuses; the exit code still tells.
                let _ = writeln!(log, "error: {e}");
                EXIT_FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_each_result() {
        let mut log = String::new();
        assert_eq!(().report(&mut log), EXIT_SUCCESS);
        assert_eq!(Ok::<(), &str>(()).report(&mut log), EXIT_SUCCESS);
        assert!(log.is_empty());
        assert_eq!(Err::<(), _>("no memory").report(&mut log), EXIT_FAILURE);
        assert_eq!(log, "error: no memory\n");
    }
}
