//! core, the root task: reports what the kernel handed over at boot, mirrors every boot
//! untyped in its untyped pool and range allocators, sizes its metadata from the machine and
//! maps it, extends its CSpace, and then does its job: the demo of its placement (the 8 KiB
//! gap case, a frame at the VGA text buffer).
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::error::Error;
use sel4_core::root::state::{Capacities, Metadata};
use sel4_core::root::{boot, device, seed};
use sel4_root_task::{declare_main, println};

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    println!("core: seL4 root task, kernel config {}", sel4_config::NAME);
    let mut run = boot::start(bi, Metadata::Mapped(Capacities::for_machine(bi)))?;
    seed::seed_gap(&mut run)?;
    device::vga(&mut run)?;
    println!("core: done");
    Ok(())
}
