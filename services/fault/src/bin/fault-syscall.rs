//! An unknown-syscall fault: a system call with a number the kernel does not have.
#![no_std]
#![no_main]

use fault::{Survived, NO_SUCH_SYSCALL};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-syscall: syscall {NO_SUCH_SYSCALL}");
    fault::unknown_syscall();
    Err(Survived("fault-syscall"))
}
