//! A user exception: an integer division by zero (#DE).
#![no_std]
#![no_main]

use fault::Survived;
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-div0: dividing by zero");
    // SAFETY: `div` by a zero register raises #DE, which the kernel sends as a UserException
    // fault; no memory is touched. (Rust's `/` checks for zero and would panic instead.)
    unsafe {
        core::arch::asm!("xor ecx, ecx", "div rcx", out("rax") _, out("rdx") _, out("rcx") _);
    }
    Err(Survived("fault-div0"))
}
