//! The end of a service: an exit request to core with a code, [`EXIT_SUCCESS`] when main
//! returned normally, [`EXIT_FAILURE`] when it returned an error (which it prints first),
//! [`EXIT_PANIC`] after a panic. Core reclaims an exiting service rather than answering it.

use core::fmt::{self, Display};

use sel4_core_protocol::Request;

/// Exit code of a main that returned `()` or `Ok(())`.
pub const EXIT_SUCCESS: u64 = 0;
/// Exit code of a main that returned an error.
pub const EXIT_FAILURE: u64 = 1;
/// Exit code after a panic (Rust's own for a panicking process).
pub const EXIT_PANIC: u64 = 101;

/// Asks core to end this service with `code`. If core ever answers, the thread has nothing
/// left to run and yields for good.
pub fn exit(code: u64) -> ! {
    crate::call_core(&Request::Exit { code });
    loop {
        sel4::syscalls::yield_now();
    }
}

/// What a service's main function may return.
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
