//! Faults on purpose, one kind per binary (`src/bin/fault-*.rs`): each prints what it is about
//! to do, then does it; core must report the fault (kind, IP, address) and reclaim the child.
//! A binary that is still running afterwards returns [`Survived`], so a kernel or core that
//! lets the fault pass is seen. The faults themselves are functions here ([`vm`], [`cap`],
//! [`unknown_syscall`], [`divide_by_zero`], [`undefined_instruction`]), for any service that
//! must fault on purpose; each returns only if the fault did not happen.
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

/// A VM fault: reads [`UNMAPPED`].
pub fn vm() {
    // SAFETY: deliberately unsound read of an unmapped address: the kernel stops this thread
    // with a VM fault before the value exists, and core reclaims the child.
    let _ = unsafe { (UNMAPPED as *const u64).read_volatile() };
}

/// A cap fault: a Call whose CPtr fails to resolve is a cap fault for the caller
/// (`src/api/syscall.c:handleInvocation`, after `lookupCapAndSlot`).
pub fn cap() {
    sel4::syscalls::call(sel4::CPtr::from_bits(BAD_CPTR), sel4::MessageInfo::new(0, 0, 0, 0), [0; 4]);
}

/// An unknown syscall fault.
pub fn unknown_syscall() {
    // SAFETY: `syscall` with an unknown number (in rdx, as seL4's x86_64 ABI passes it) makes
    // the kernel send an UnknownSyscall fault instead of entering any system call; rcx and r11
    // are clobbered by the instruction itself.
    unsafe {
        core::arch::asm!("syscall", in("rdx") NO_SUCH_SYSCALL, out("rcx") _, out("r11") _);
    }
}

/// A user exception: divide by zero (#DE).
pub fn divide_by_zero() {
    // SAFETY: `div` by a zero register raises #DE, which the kernel sends as a UserException
    // fault; no memory is touched. (Rust's `/` checks for zero and would panic instead.)
    unsafe {
        core::arch::asm!("xor ecx, ecx", "div rcx", out("rax") _, out("rdx") _, out("rcx") _);
    }
}

/// A user exception: an undefined instruction (#UD).
pub fn undefined_instruction() {
    // SAFETY: `ud2` raises #UD, which the kernel sends as a UserException fault; nothing else
    // happens.
    unsafe { core::arch::asm!("ud2") };
}
