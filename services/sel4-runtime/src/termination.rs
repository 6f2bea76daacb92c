//! The end of a service: an exit request to core with a code, [`EXIT_SUCCESS`] when main
//! returned normally, [`EXIT_FAILURE`] when it returned an error (which it prints first),
//! [`EXIT_PANIC`] after a panic, [`EXIT_ALLOC`] after an allocation the heap could not serve. Core reclaims an exiting service rather than answering it.

use sel4_core_protocol::Request;

pub use sel4_runtime_common::{Termination, EXIT_ALLOC, EXIT_FAILURE, EXIT_PANIC, EXIT_SUCCESS};

/// Asks core to end this service with `code`. If core ever answers, the thread has nothing
/// left to run and yields for good.
pub fn exit(code: u64) -> ! {
    crate::call_core(&Request::Exit { code });
    loop {
        sel4::syscalls::yield_now();
    }
}
