//! sel4-runtime: the runtime of a service that core starts from its boot image (x86_64), as
//! `sel4-core-protocol`'s `abi` describes the start: `_start`, `declare_main!` to register the
//! program's main function (it gets the service's index), `print!`/`println!` into core's
//! log, and the end of the service as an exit request to core: the code main's result gives,
//! or [`EXIT_PANIC`] after a panic, whose message goes to the log first. It also links the
//! symbols the precompiled `core` library needs (`sel4-freestanding`) and names the image's
//! linker script (`service.ld`, for `sel4-root-task-build`). [`heap`] is the program's global
//! allocator (so `alloc`'s `Vec`, `String`, `Box` and `format!` work), over dataspaces from
//! core up to the service's `heap=` setting; an allocation past it ends the service with
//! [`EXIT_ALLOC`] after saying what was asked and what was left. [`memory`] checks memory core
//! mapped for the program; [`thread::spawn`] starts a thread on a closure (its stack from the
//! heap), and [`thread_entry!`] is the bare entry point of a thread the program sets up itself.
//! [`channel`] is how services talk to each other: channel ends as the system description
//! gives them (call, notify, shared memory), and the receive loop of a server's [`channel::Handler`];
//! [`restarts`] says how often core restarted the service. [`device`] gives a driver the I/O
//! ports, interrupts and device memory the description grants it.
//!
//! Every request to core is an seL4 Call on the endpoint in slot `abi::ENDPOINT`, so requests
//! arrive in the order the program makes them. Before `main` runs, the runtime registers the
//! thread's IPC buffer for `sel4`'s invocations; threads the program starts must not make
//! `sel4` invocations (they would borrow that buffer). Requests to core fit the message
//! registers (at most 4 words, `Request::encode`), so any thread may make them: the heap grows
//! from whichever thread runs out.
//!
//! The items that define global symbols (`_start`, the panic handler, `mem*`) exist only
//! outside `cfg(test)`, so the crate's unit tests run as ordinary host programs.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod channel;
pub mod device;
mod entry;
pub mod heap;
pub mod log;
pub mod memory;
#[cfg(not(test))]
mod panicking;
pub mod sync;
pub mod termination;
pub mod thread;

pub use termination::{exit, Termination, EXIT_ALLOC, EXIT_FAILURE, EXIT_PANIC, EXIT_SUCCESS};

// Linked for its symbols (a crate nothing names is not linked); test binaries
// keep libc's.
#[cfg(not(test))]
use sel4_freestanding as _;

use sel4_core_protocol::{abi, Request};

/// How often core restarted this service after a fault (0 at its first start).
static RESTARTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// How often core restarted this service after a fault: 0 at its first start. Whatever the
/// previous instances kept in memory is gone; what they kept elsewhere (a peer, shared memory)
/// is not.
pub fn restarts() -> u64 {
    RESTARTS.load(core::sync::atomic::Ordering::Relaxed)
}

/// Sends `request` to core (seL4 Call on the endpoint slot) and returns core's answer once it
/// comes: the next request leaves only after core took this one.
pub fn call_core(request: &Request) -> sel4::syscalls::Received {
    let (label, words, len) = request.encode();
    let info = sel4::MessageInfo::new(label, 0, 0, len);
    sel4::syscalls::call(sel4::CPtr::from_bits(abi::ENDPOINT), info, words)
}

/// Core, reached with seL4 Calls on the child's endpoint: the transport of the session clients
/// (`sel4_core_protocol::session`). Words past the fourth go through the IPC buffer.
pub struct Core;

impl sel4_core_protocol::Transport for Core {
    fn call(&mut self, label: u64, words: &[u64]) -> (u64, [u64; 4], usize) {
        let mut mrs = [0; 4];
        for (i, &w) in words.iter().enumerate() {
            if i < mrs.len() {
                mrs[i] = w;
            } else if !sel4::set_message_word(i, w) {
                break;
            }
        }
        let info = sel4::MessageInfo::new(label, 0, 0, words.len());
        let r = sel4::syscalls::call(sel4::CPtr::from_bits(abi::ENDPOINT), info, mrs);
        (r.info.label(), r.mrs, r.info.length())
    }
}

/// Not public API: used by `declare_main!`.
#[doc(hidden)]
pub mod _private {
    pub use crate::log::Log;
}

/// Registers `main` as the service's entry function. It receives the service's index in the
/// system description (`usize`) and returns anything that implements [`Termination`] (`()`,
/// `Result<(), E: Display>`); when it returns, the service exits with the code that gives.
#[macro_export]
macro_rules! declare_main {
    ($main:path) => {
        #[no_mangle]
        fn __sel4_runtime_main(index: usize) -> u64 {
            $crate::Termination::report($main(index), &mut $crate::_private::Log)
        }
    };
}
