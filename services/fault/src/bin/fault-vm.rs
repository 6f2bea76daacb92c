//! A VM fault: reads an address nothing is mapped at.
#![no_std]
#![no_main]

use fault::{Survived, UNMAPPED};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-vm: reading {UNMAPPED:#x}");
    fault::vm();
    Err(Survived("fault-vm"))
}
