//! sel4-core-selftest: self-tests of core on the real kernel, each a root task of its own
//! (`src/bin/core-*.rs`) built on the product library: [`start`] brings core up as the product
//! does (mirror every untyped, extend the CSpace), the modules run one test each, [`finish`]
//! reports. The run tool boots them by name (`image core-scale` in a scenario file).
#![no_std]
// Only the root tasks use this library; a host build of the workspace leaves it empty.
#![cfg(feature = "root-task")]

pub mod kernel_check;
pub mod placement;
pub mod scale;
pub mod trace;

use sel4::BootInfo;
use sel4_core::root::boot;
use sel4_core::root::error::Error;
use sel4_core::root::runner::{self, Runner};
use sel4_core::root::state::{Capacities, Metadata};
use sel4_root_task::println;

/// Brings core up for self-test `name` with its metadata where `metadata` says.
pub fn start(bi: &BootInfo, name: &str, metadata: Metadata) -> Result<Runner, Error> {
    println!("core: seL4 root task, kernel config {}, self-test `{name}`", sel4_config::NAME);
    boot::start(bi, metadata)
}

/// Metadata sized from the machine, as the product does.
pub fn machine(bi: &BootInfo) -> Metadata {
    Metadata::Mapped(Capacities::for_machine(bi))
}

/// Dumps the memory map (feature `memory-map`), reports the audit, says done.
pub fn finish(run: &Runner) {
    runner::dump_memory_map(&run.core);
    if let Some(a) = &run.audit {
        println!(
            "audit: {} frame addresses and {} untyped watermarks checked against the kernel: all agree",
            a.frames_checked, a.watermarks_checked
        );
    }
    println!("core: done");
}
