//! Self-test `session-bench`: RAM sessions as a client sees them, beside the floors they are
//! made of, all measured in one run (under TCG only ratios mean anything):
//! - the IPC floor: service `ipc-floor` calls core's endpoint with an empty message and core
//!   answers each call with `ReplyRecv` and nothing else (no decoding, no lookup): cycles per
//!   round trip between two address spaces;
//! - the kernel floor: core retypes a 4 KiB frame from a free leaf untyped and revokes the leaf
//!   again, straight through the kernel (no allocator): cycles per retype + revoke;
//! - then service `session-bench` is served as the product serves its children and prints
//!   cycles per session operation.
//!
//! Lines `bench: ...` are read by the run tool (`run/src/bench.rs`), which prints the ratios.
#![no_std]
#![no_main]

use sel4::{cap_type, syscalls, BootInfo, Cap, MessageInfo, Word};
use sel4_core::kernel::{Kernel, Slot};
use sel4_core::loader::Spec;
use sel4_core::object::ObjectType;
use sel4_core::root::child;
use sel4_core::root::error::Error;
use sel4_core::root::runner::rdtsc;
use sel4_core::root::server;
use sel4_core::root::state::Core;
use sel4_core_system::System;
use sel4_root_task::{declare_main, println};

declare_main!(main);

/// The system description (`CORE_SYSTEM` at build time): `ipc-floor`, then `session-bench`.
static SYSTEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/system.bin"));
/// Round trips or invocations per floor, after as many to warm up.
const ROUNDS: u64 = 2000;

fn spec(system: &System<'static>, name: &str) -> Result<Spec<'static>, Error> {
    let (index, s) = system
        .services
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == name)
        .ok_or(Error::Failed("session-bench: the image lacks a service it needs (scenario `service` lines)"))?;
    Ok(child::spec(index, s))
}

/// Cycles per round trip between core and the `ipc-floor` child, answered with nothing.
fn ipc_floor(core: &mut Core, spec: &Spec<'static>) -> Result<u64, Error> {
    let ep = core.ours.alloc(&mut core.kernel, ObjectType::Endpoint, 0).map_err(|failure| Error::Alloc {
        ty: ObjectType::Endpoint,
        size_bits: 0,
        failure,
    })?;
    let c = child::start(core, ep.slot, 0, spec, 0).map_err(Error::Child)?;
    let ep_cptr = Cap::<cap_type::Endpoint>::from_bits(ep.slot.0 as Word).cptr();
    let empty = MessageInfo::new(0, 0, 0, 0);
    syscalls::recv(ep_cptr);
    for _ in 0..ROUNDS {
        syscalls::reply_recv(ep_cptr, empty, [0; 4]);
    }
    let t0 = rdtsc();
    for _ in 0..ROUNDS {
        syscalls::reply_recv(ep_cptr, empty, [0; 4]);
    }
    let cycles = (rdtsc() - t0) / ROUNDS;
    // The child waits for a reply that never comes; reclaiming it takes everything back.
    c.reclaim(core);
    core.ours.free(&mut core.kernel, ep.handle)?;
    Ok(cycles)
}

/// Cycles per retype of a 4 KiB frame from a free leaf untyped plus the revoke that frees it.
fn kernel_floor(core: &mut Core) -> Result<u64, Error> {
    // A leaf of exactly 4 KiB: place a frame, free it; the leaf stays, free.
    let p = core.ours.alloc(&mut core.kernel, ObjectType::Frame4K, 0).map_err(|failure| Error::Alloc {
        ty: ObjectType::Frame4K,
        size_bits: 0,
        failure,
    })?;
    let node = core.ours.node_of(p.handle).ok_or(Error::Failed("session-bench: the frame just placed is not live"))?;
    let leaf = core.ours.placer.pool.info(node).slot;
    core.ours.free(&mut core.kernel, p.handle)?;
    let dest = Slot(core.reserved.start);
    let k = &mut core.kernel.inner;
    let once = |k: &mut sel4_core::root::kernel::SeL4| -> Result<(), Error> {
        k.untyped_retype(leaf, ObjectType::Frame4K, 0, dest, 1).map_err(|e| Error::Kernel("retype", e))?;
        k.cnode_revoke(leaf).map_err(|e| Error::Kernel("revoke", e))
    };
    for _ in 0..ROUNDS {
        once(k)?;
    }
    let t0 = rdtsc();
    for _ in 0..ROUNDS {
        once(k)?;
    }
    Ok((rdtsc() - t0) / ROUNDS)
}

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run = sel4_core_selftest::start(bi, "session-bench", sel4_core_selftest::machine(bi))?;
    sel4_core::root::heap::reserve(&mut run.core, sel4_core::root::heap::HEADROOM)?;
    let system = System::decode(SYSTEM)?;
    let (floor_spec, bench_spec) = (spec(&system, "ipc-floor")?, spec(&system, "session-bench")?);
    let core = &mut run.core;
    child::prepare_window(core)?;
    let ipc = ipc_floor(core, &floor_spec)?;
    println!("bench: ipc floor {ipc} cycles per round trip");
    let kernel = kernel_floor(core)?;
    println!("bench: kernel floor {kernel} cycles per retype + revoke");
    let out = server::serve(core, &[bench_spec])?;
    if out.exited != 1 {
        return Err(Error::Failed("session-bench: the bench service did not exit"));
    }
    sel4_core_selftest::finish(&run);
    Ok(())
}
