//! Self-test `churn`: 10^5 seeded random allocs and frees of mixed types.
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::error::Error;
use sel4_core_selftest::scale;
use sel4_root_task::declare_main;

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run = sel4_core_selftest::start(bi, "churn", sel4_core_selftest::machine(bi))?;
    scale::churn(&mut run, bi)?;
    sel4_core_selftest::finish(&run);
    Ok(())
}
