//! Self-test `trace`: the trace embedded at build time replayed on the kernel, one line per
//! operation, for the run tool to compare with the host model's replay.
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::error::Error;
use sel4_core_selftest::trace;
use sel4_root_task::declare_main;

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    // The replay starts from the bare boot state (no second-level CNodes), as the host replay does.
    let mut run = sel4_core_selftest::start(bi, "trace", 0)?;
    trace::replay(&mut run)?;
    sel4_core_selftest::finish(&run);
    Ok(())
}
