//! Bringing core up, as the product and every self-test does: mirror every untyped from
//! bootinfo, place and map core's metadata, grow the CSpace to what the metadata holds, and
//! report each step.

use sel4::BootInfo;
use sel4_root_task::println;

use crate::root::error::Error;
use crate::root::runner::{rdtsc, Runner};
use crate::root::state::{self, Metadata};
use crate::root::{cspace, metadata};

/// Core from bootinfo to ready: bootinfo summary, untyped table, metadata and CSpace, with
/// the cycles it took and core's footprint.
pub fn start(bi: &BootInfo, metadata: Metadata) -> Result<Runner, Error> {
    state::print_summary(bi);
    let t0 = rdtsc();
    let (mut core, mapped) = state::setup(bi, metadata)?;
    if let Some(c) = mapped {
        metadata::move_to_window(&mut core, c)?;
    }
    state::print_untypeds(&core, bi);
    let level2 = core.footprint.level2;
    let mut run = Runner::new(core)?;
    if let Some(ext) = cspace::extend(&mut run.core, bi, level2)? {
        println!(
            "cspace: top CNode of 2^{} slots at {:#x}, {} second-level CNodes of 2^16 slots at {:#x}..{:#x}; {} cap slots managed",
            ext.top_radix,
            ext.top_cnode_paddr,
            ext.level2,
            ext.level2_paddrs.0,
            ext.level2_paddrs.1,
            run.core.ours.placer.caps.capacity()
        );
    }
    // Every managed slot exists now.
    run.core.ours.placer.caps.release_held();
    let t1 = rdtsc();
    // The floor beside it, measured in the same run: under TCG only the ratio means anything.
    let floor = crate::root::runner::yield_cycles(crate::root::runner::YIELD_SAMPLES).max(1);
    println!(
        "setup: {} cycles ({} us at {} MHz) from core's first step to ready (untypeds mirrored, metadata mapped, CSpace grown); {} x seL4_Yield ({} cycles)",
        t1 - t0,
        (t1 - t0) / bi.tsc_mhz().max(1),
        bi.tsc_mhz(),
        (t1 - t0) / floor,
        floor
    );
    state::print_footprint(&run.core, bi);
    Ok(run)
}
