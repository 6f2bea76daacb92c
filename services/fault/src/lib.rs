//! Faults on purpose, one kind per binary (`src/bin/fault-*.rs`): each prints what it is about
//! to do, then does it; core must report the fault (kind, IP, address) and reclaim the child.
//! A binary that is still running afterwards returns [`Survived`], so a kernel or core that
//! lets the fault pass is seen.
#![no_std]

/// The fault did not happen: the program went on.
pub struct Survived(pub &'static str);

impl core::fmt::Display for Survived {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: the fault did not happen", self.0)
    }
}

/// Yields the processor this many times before faulting, so that the services started beside
/// it are at work when the fault comes (they run round-robin at the same priority).
pub const YIELDS_BEFORE_FAULT: usize = 16;

/// Lets the other services of the same priority run a while.
pub fn let_others_run() {
    for _ in 0..YIELDS_BEFORE_FAULT {
        sel4::syscalls::yield_now();
    }
}

/// An address no service has mapped: above the image, below the stack (`core`'s child layout
/// keeps this range empty).
pub const UNMAPPED: u64 = 0x2000_0000;
/// A CPtr no lookup resolves: its top bits do not match the guard of the child's CNode, so
/// the lookup fails and the kernel sends a cap fault (a CPtr to an empty slot would only get
/// an error reply).
pub const BAD_CPTR: u64 = 1 << 63;
/// A syscall number the kernel does not have (they are small negative numbers).
pub const NO_SUCH_SYSCALL: i64 = -1000;
