//! Self-test `scale`: 10^5 objects live at once, with core's metadata sized for them (every
//! object and every pool node holds a cap slot: a two-level CSpace).
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::error::Error;
use sel4_core::root::state::{Capacities, Metadata};
use sel4_core_selftest::scale;
use sel4_root_task::declare_main;

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run =
        sel4_core_selftest::start(bi, "scale", Metadata::Mapped(Capacities { objects: scale::SCALE_OBJECTS }))?;
    scale::scale(&mut run, bi)?;
    sel4_core_selftest::finish(&run);
    Ok(())
}
