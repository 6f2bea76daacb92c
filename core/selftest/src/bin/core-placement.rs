//! Self-test `placement`: every object type at chosen addresses, alignments and ranges, a
//! device frame, then the errors core must report and survive.
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::device;
use sel4_core::root::error::Error;
use sel4_core_selftest::placement;
use sel4_root_task::declare_main;

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run = sel4_core_selftest::start(bi, "placement", sel4_core_selftest::machine(bi))?;
    placement::placement(&mut run)?;
    device::vga(&mut run)?;
    placement::errors(&mut run)?;
    sel4_core_selftest::finish(&run);
    Ok(())
}
