//! core, the root task: reports what the kernel handed over at boot, mirrors every boot
//! untyped in its untyped pool and range allocators, extends its CSpace, and then does its
//! job: the demo of its placement (the 8 KiB gap case, a frame at the VGA text buffer).
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::error::Error;
use sel4_core::root::runner::{self, Runner};
use sel4_core::root::{cspace, device, seed, state};
use sel4_root_task::{declare_main, println};

declare_main!(main);

/// Second-level CNodes of 2^16 slots the demo needs.
const LEVEL2: usize = 1;

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    println!("core: seL4 root task, kernel config {}", sel4_config::NAME);
    state::print_summary(bi);
    let t0 = runner::rdtsc();
    let core = state::setup(bi, LEVEL2)?;
    state::print_untypeds(&core, bi)?;
    let mut runner = Runner::new(core)?;
    let ext = cspace::extend(&mut runner.core, bi, LEVEL2)?;
    println!(
        "cspace: top CNode at {:#x}, {} second-level CNodes of 2^16 slots at {:x?}; {} cap slots managed",
        ext.top_cnode_paddr,
        ext.level2_paddrs.len(),
        &ext.level2_paddrs[..],
        runner.core.ours.placer.caps.capacity()
    );
    let t1 = runner::rdtsc();
    println!(
        "setup: {} cycles ({} us at {} MHz) from mirror to two-level CSpace",
        t1 - t0,
        (t1 - t0) / bi.tsc_mhz().max(1),
        bi.tsc_mhz()
    );
    seed::seed_gap(&mut runner)?;
    device::vga(&mut runner)?;
    println!("core: done");
    Ok(())
}
