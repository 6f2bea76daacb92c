//! core, the root task: reports what the kernel handed over at boot, mirrors every boot
//! untyped in its untyped pool and range allocators, sizes its metadata from the machine and
//! maps it, extends its CSpace, and then does its job: the demo of its placement (the 8 KiB
//! gap case, a frame at the VGA text buffer), then the child services of the system
//! description the run tool built into its image: started, served and reclaimed.
#![no_std]
#![no_main]

extern crate alloc;

use sel4::BootInfo;
use sel4_core::root::child;
use sel4_core::root::error::Error;
use sel4_core::root::state::{Capacities, Metadata};
use sel4_core::root::{boot, heap, seed, server};
use sel4_core_system::System;
use sel4_root_task::{declare_main, println};

declare_main!(main);

/// The system description (`CORE_SYSTEM` at build time; empty: no services).
static SYSTEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/system.bin"));

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    println!("core: seL4 root task, kernel config {}", sel4_config::NAME);
    let mut run = boot::start(bi, Metadata::Mapped(Capacities::for_machine(bi)))?;
    seed::seed_gap(&mut run)?;
    // The list of services lives on core's heap.
    heap::reserve(&mut run.core, heap::HEADROOM)?;
    let system = System::decode(SYSTEM)?;
    if !system.services.is_empty() {
        let specs: alloc::vec::Vec<_> = system.services.iter().enumerate().map(|(i, s)| child::spec(i, s)).collect();
        let devices: alloc::vec::Vec<_> = system.services.iter().map(|s| s.devices.clone()).collect();
        server::serve(&mut run.core, &specs, &system.channels, &devices)?;
    }
    println!("core: done");
    Ok(())
}
