//! A user exception: an undefined instruction (#UD).
#![no_std]
#![no_main]

use fault::Survived;
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-ud: executing ud2");
    // SAFETY: `ud2` raises #UD, which the kernel sends as a UserException fault; nothing else
    // happens.
    unsafe { core::arch::asm!("ud2") };
    Err(Survived("fault-ud"))
}
