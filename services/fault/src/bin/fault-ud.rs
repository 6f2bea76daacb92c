//! A user exception: an undefined instruction (#UD).
#![no_std]
#![no_main]

use fault::Survived;
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-ud: executing ud2");
    fault::undefined_instruction();
    Err(Survived("fault-ud"))
}
