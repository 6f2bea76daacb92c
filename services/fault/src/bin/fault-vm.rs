//! A VM fault: reads an address nothing is mapped at.
#![no_std]
#![no_main]

use fault::{Survived, UNMAPPED};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-vm: reading {UNMAPPED:#x}");
    // SAFETY: deliberately unsound read of an unmapped address: the kernel stops this thread
    // with a VM fault before the value exists, and core reclaims the child.
    let v = unsafe { (UNMAPPED as *const u64).read_volatile() };
    println!("fault-vm: read {v:#x}");
    Err(Survived("fault-vm"))
}
