//! An unknown-syscall fault: a system call with a number the kernel does not have.
#![no_std]
#![no_main]

use fault::{Survived, NO_SUCH_SYSCALL};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-syscall: syscall {NO_SUCH_SYSCALL}");
    // SAFETY: `syscall` with an unknown number (in rdx, as seL4's x86_64 ABI passes it) makes
    // the kernel send an UnknownSyscall fault instead of entering any system call; rcx and r11
    // are clobbered by the instruction itself.
    unsafe {
        core::arch::asm!("syscall", in("rdx") NO_SUCH_SYSCALL, out("rcx") _, out("r11") _);
    }
    Err(Survived("fault-syscall"))
}
