//! cnode-demo: opens a CNode session with core, has it create a CNode of 16 slots in slot 20
//! of its own CNode, sees a second one refused in the same slot and a destroyed one's handle
//! refused as stale, creates one there again, and closes the session. Then a TCB session: a
//! thread above its own priority is refused, a second thread at its priority runs, prints a
//! line and is stopped and destroyed.
#![no_std]
#![no_main]

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use sel4_core_protocol::{CnodeSession, ErrorCode, SessionError, TcbSession};
use sel4_runtime::{declare_main, println, Core};

declare_main!(main);

const SLOT: u64 = 20;
/// The service's priority in the scenarios that start it: a thread may not have more.
const PRIO: u8 = 100;
/// What the second thread was given, once it ran.
static RAN: AtomicU64 = AtomicU64::new(0);
const STACK_WORDS: usize = 1024;
/// The second thread's stack (16-byte words, its alignment).
static mut STACK: [u128; STACK_WORDS] = [0; STACK_WORDS];

sel4_runtime::thread_entry!(cnode_demo_second_entry => second);

/// The second thread: prints a line, says it ran, and waits to be stopped.
extern "C" fn second(arg: u64) -> ! {
    println!("cnode-demo: second thread running, argument {arg}");
    RAN.store(arg, Ordering::SeqCst);
    loop {
        sel4::syscalls::yield_now();
    }
}

enum Error {
    Session(&'static str, SessionError),
    NoThread,
    Expected { what: &'static str, wanted: ErrorCode, got: Result<(), SessionError> },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Session(what, e) => write!(f, "{what}: {e}"),
            Error::NoThread => write!(f, "the second thread never ran"),
            Error::Expected { what, wanted, got: Ok(()) } => write!(f, "{what}: wanted {wanted}, got success"),
            Error::Expected { what, wanted, got: Err(e) } => write!(f, "{what}: wanted {wanted}, got {e}"),
        }
    }
}

fn s<T>(what: &'static str, r: Result<T, SessionError>) -> Result<T, Error> {
    r.map_err(|e| Error::Session(what, e))
}

/// `r` must be the refusal `wanted`.
fn refused<T>(what: &'static str, wanted: ErrorCode, r: Result<T, SessionError>) -> Result<(), Error> {
    match r {
        Err(e) if e.code() == Some(wanted) => {
            println!("cnode-demo: {what}: refused with {wanted}, as it must be");
            Ok(())
        }
        Err(e) => Err(Error::Expected { what, wanted, got: Err(e) }),
        Ok(_) => Err(Error::Expected { what, wanted, got: Ok(()) }),
    }
}

fn main(_: usize) -> Result<(), Error> {
    let t = &mut Core;
    let cnodes = s("open", CnodeSession::open(t, 64 << 10, 8))?;
    let first = s("create", cnodes.create(t, 4, SLOT))?;
    println!("cnode-demo: a CNode of 2^4 slots in slot {SLOT}");
    refused("a second CNode in the same slot", ErrorCode::InvalidArgument, cnodes.create(t, 4, SLOT))?;
    s("destroy", cnodes.destroy(t, first))?;
    refused("destroying it again", ErrorCode::InvalidHandle, cnodes.destroy(t, first))?;
    let again = s("create again", cnodes.create(t, 4, SLOT))?;
    println!("cnode-demo: slot {SLOT} is free again after destroy: a new CNode there");
    s("destroy", cnodes.destroy(t, again))?;
    s("close", cnodes.close(t))?;
    println!("cnode-demo: closed");

    let threads = s("open TCB session", TcbSession::open(t, 64 << 10, 8))?;
    refused("a thread above its own priority", ErrorCode::Denied, threads.create(t, PRIO + 1))?;
    let thread = s("create thread", threads.create(t, PRIO))?;
    // Only the second thread uses this stack; taking its address reads nothing.
    let top = core::ptr::addr_of_mut!(STACK) as u64 + (STACK_WORDS * 16) as u64;
    let entry = cnode_demo_second_entry as *const () as u64;
    s("set up thread", threads.setup(t, thread, entry, top, 42))?;
    s("start thread", threads.start(t, thread))?;
    let mut yields = 0;
    while RAN.load(Ordering::SeqCst) != 42 && yields < 10_000 {
        sel4::syscalls::yield_now();
        yields += 1;
    }
    s("stop thread", threads.stop(t, thread))?;
    s("destroy thread", threads.destroy(t, thread))?;
    s("close TCB session", threads.close(t))?;
    if RAN.load(Ordering::SeqCst) != 42 {
        return Err(Error::NoThread);
    }
    println!("cnode-demo: the second thread ran; stopped, destroyed, session closed");
    Ok(())
}
