//! Self-test `children`: every service of the system description built into this image,
//! started, run and reclaimed one after another, twice; after each round the RAM allocator's
//! free bytes and largest free block must be what they were before it.
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core::root::child;
use sel4_core::root::error::Error;
use sel4_core::root::server;
use sel4_core::size::Size;
use sel4_core_system::System;
use sel4_root_task::{declare_main, println};

declare_main!(main);

/// The system description (`CORE_SYSTEM` at build time).
static SYSTEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/system.bin"));
const ROUNDS: usize = 2;

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run = sel4_core_selftest::start(bi, "children", sel4_core_selftest::machine(bi))?;
    // Core's heap (the list of services and the children's session records live there) is
    // its own for good: place it before measuring.
    sel4_core::root::heap::reserve(&mut run.core, sel4_core::root::heap::HEADROOM)?;
    let system = System::decode(SYSTEM)?;
    if system.services.is_empty() {
        return Err(Error::Failed("children: the image holds no services (scenario `service` lines)"));
    }
    // Core's windows (for filling child frames, for the child's log buffer) are its own for
    // good: place them before measuring.
    child::prepare_windows(&mut run.core, 1)?;
    let core = &mut run.core;
    for round in 1..=ROUNDS {
        let (free0, largest0) = (core.ours.ram().avail(), core.ours.ram().largest_free());
        for (index, s) in system.services.iter().enumerate() {
            let out = server::serve(core, &[child::spec(index, s)], &[], &[])?;
            if out.exited != 1 {
                return Err(Error::Failed("children: a child did not exit"));
            }
        }
        let (free1, largest1) = (core.ours.ram().avail(), core.ours.ram().largest_free());
        println!(
            "children: round {round}: {} children started, run and reclaimed in turn; RAM free {free0} before, \
             {free1} after, largest free block {} before, {} after",
            system.services.len(),
            Size(largest0 as u128),
            Size(largest1 as u128)
        );
        if (free1, largest1) != (free0, largest0) {
            return Err(Error::Failed("children: the allocator is not where it was before the round"));
        }
    }
    sel4_core_selftest::finish(&run);
    Ok(())
}
