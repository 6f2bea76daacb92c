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
    // The replay starts from the bare boot state, as the host replay does: no metadata frames,
    // no second-level CNodes.
    let mut run = sel4_core_selftest::start(bi, "trace", trace::storage(bi)?)?;
    trace::replay(&mut run)?;
    sel4_core_selftest::finish(&run);
    Ok(())
}
