//! Self-test `seed-gap`: the 8 KiB gap case on a real untyped, confirmed by the kernel.
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::error::Error;
use sel4_core::root::seed;
use sel4_root_task::declare_main;

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run = sel4_core_selftest::start(bi, "seed-gap", sel4_core_selftest::machine(bi))?;
    seed::seed_gap(&mut run)?;
    // The seed case dumps its map while its objects are live.
    sel4_core_selftest::finish(&run);
    Ok(())
}
