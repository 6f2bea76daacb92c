//! A cap fault: calls through a CPtr no lookup resolves.
#![no_std]
#![no_main]

use fault::{Survived, BAD_CPTR};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-cap: calling CPtr {BAD_CPTR:#x}");
    fault::cap();
    Err(Survived("fault-cap"))
}
