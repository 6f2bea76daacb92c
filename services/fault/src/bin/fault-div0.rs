//! A user exception: an integer division by zero (#DE).
#![no_std]
#![no_main]

use fault::Survived;
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-div0: dividing by zero");
    fault::divide_by_zero();
    Err(Survived("fault-div0"))
}
