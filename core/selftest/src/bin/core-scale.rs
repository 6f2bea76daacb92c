//! Self-test `scale`: 10^5 objects live at once, over a two-level CSpace of seven
//! second-level CNodes (every object and every pool node holds a slot).
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::error::Error;
use sel4_core_selftest::scale;
use sel4_root_task::declare_main;

declare_main!(main);

/// Second-level CNodes of 2^16 slots for 10^5 objects and their split paths.
const LEVEL2: usize = 7;

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run = sel4_core_selftest::start(bi, "scale", LEVEL2)?;
    scale::scale(&mut run, bi)?;
    sel4_core_selftest::finish(&run);
    Ok(())
}
