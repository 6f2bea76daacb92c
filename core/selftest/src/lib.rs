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
use sel4_core::root::error::Error;
use sel4_core::root::runner::{self, Runner};
use sel4_core::root::{cspace, state};
use sel4_root_task::println;

/// Brings core up for self-test `name`: bootinfo summary, every untyped mirrored and listed,
/// and `level2` second-level CNodes of 2^16 slots (0: the boot CNode only).
pub fn start(bi: &BootInfo, name: &str, level2: usize) -> Result<Runner, Error> {
    println!("core: seL4 root task, kernel config {}, self-test `{name}`", sel4_config::NAME);
    state::print_summary(bi);
    let t0 = runner::rdtsc();
    let core = state::setup(bi, level2)?;
    state::print_untypeds(&core, bi)?;
    let mut run = Runner::new(core)?;
    if level2 > 0 {
        let ext = cspace::extend(&mut run.core, bi, level2)?;
        println!(
            "cspace: top CNode at {:#x}, {} second-level CNodes of 2^16 slots at {:x?}; {} cap slots managed",
            ext.top_cnode_paddr,
            ext.level2_paddrs.len(),
            &ext.level2_paddrs[..],
            run.core.ours.placer.caps.capacity()
        );
    }
    let t1 = runner::rdtsc();
    println!(
        "setup: {} cycles ({} us at {} MHz) from mirror to two-level CSpace",
        t1 - t0,
        (t1 - t0) / bi.tsc_mhz().max(1),
        bi.tsc_mhz()
    );
    Ok(run)
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
