//! Self-test `session-bench`: RAM sessions as a client sees them, beside the floors they are
//! made of, all measured in one run (under TCG only ratios mean anything):
//! - the IPC floor: service `ipc-floor` calls core's endpoint with an empty message and core
//!   answers each call with `ReplyRecv` and nothing else (no decoding, no lookup): cycles per
//!   round trip between two address spaces;
//! - the kernel floor: core retypes a 4 KiB frame from a free leaf untyped and revokes the leaf
//!   again, straight through the kernel (no allocator): cycles per retype + revoke;
//! - the caps floor: the same retype and revoke with a copy of the frame cap in between (the
//!   copy a `RamCaps` request makes into the child's CNode; the revoke deletes it too);
//! - the print floor: core printing a line of 80 bytes itself, with the prefix it gives the
//!   bench service's lines (what a child's log line costs besides its request and core's copy);
//! - the kernel floor of a dataspace of each size the bench service maps (4 KiB, 1 MiB, 3 MiB,
//!   64 MiB): the retypes, frame maps and revokes the kernel needs for the frames core would
//!   make it of (`layout::runs` of the block core's placement picks), timed straight through
//!   the kernel from leaves prepared beforehand, mapped in a VSpace of its own whose paging
//!   structures exist already (as the session's stay after its first map);
//! - then services `session-bench` and `size-bench` are served, one after the other, as the
//!   product serves its children, and print cycles per session operation.
//!
//! Lines `bench: ...` are read by the run tool (`run/src/bench.rs`), which prints the ratios.
#![no_std]
#![no_main]

use bench::SIZES;
use sel4::{cap_type, init_thread, syscalls, BootInfo, Cap, CapRights, MessageInfo, VmAttributes, Word};
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

/// The system description (`CORE_SYSTEM` at build time): `ipc-floor`, `session-bench`,
/// `size-bench`.
static SYSTEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/system.bin"));
/// Round trips or invocations per floor, after as many to warm up.
const ROUNDS: u64 = 2000;
/// Where the sized floors map their frames in their VSpace.
const SCRATCH: u64 = 0x40_0000_0000;

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
    let given = sel4_core::loader::Given::default();
    let c = child::start(core, ep.slot, 0, spec, spec.ram, &given, 0).map_err(Error::Child)?;
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

/// Cycles per retype of a 4 KiB frame from a free leaf untyped plus the revoke that frees it,
/// with a copy of the frame's cap in between if `copy`.
fn kernel_floor(core: &mut Core, copy: bool) -> Result<u64, Error> {
    // A leaf of exactly 4 KiB: place a frame, free it; the leaf stays, free.
    let p = core.ours.alloc(&mut core.kernel, ObjectType::Frame4K, 0).map_err(|failure| Error::Alloc {
        ty: ObjectType::Frame4K,
        size_bits: 0,
        failure,
    })?;
    let node = core.ours.node_of(p.handle).ok_or(Error::Failed("session-bench: the frame just placed is not live"))?;
    let leaf = core.ours.placer.pool.info(node).slot;
    core.ours.free(&mut core.kernel, p.handle)?;
    let (dest, copied) = (Slot(core.reserved.start), Slot(core.reserved.start + 1));
    let k = &mut core.kernel.inner;
    let once = |k: &mut sel4_core::root::kernel::SeL4| -> Result<(), Error> {
        k.untyped_retype(leaf, ObjectType::Frame4K, 0, dest, 1).map_err(|e| Error::Kernel("retype", e))?;
        if copy {
            k.slot(copied).copy(&k.slot(dest), CapRights::read_write()).map_err(|e| Error::Kernel("copy", e))?;
        }
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

/// Cycles, kernel invocations and frames per retype, map and revoke of the frames of a
/// dataspace of `size` bytes, laid out as core lays it out.
fn sized_floor(core: &mut Core, size: u64, rounds: u64) -> Result<(u64, u64, u64), Error> {
    use sel4_core::root::vspace::{self, Mapped, Mapping};
    use sel4_core_protocol::layout;
    let frame = |bits: u8| if bits == 21 { ObjectType::Frame2M } else { ObjectType::Frame4K };
    // A VSpace of its own, as a child's: unmapping from the running one costs TLB work a
    // child's session never causes.
    let pml4 = core.ours.alloc(&mut core.kernel, ObjectType::Pml4, 0).map_err(|failure| Error::Alloc {
        ty: ObjectType::Pml4,
        size_bits: 0,
        failure,
    })?;
    let vspace: Cap<cap_type::Pml4> = Cap::from_bits(pml4.slot.0 as Word);
    init_thread::ASID_POOL.asid_pool_assign(vspace).map_err(|e| Error::Kernel("assign ASID", e))?;
    let how = Mapping { vspace, rights: CapRights::read_write(), attrs: VmAttributes::DEFAULT };
    // The block core's placement picks: the largest alignment first (as `session::ram`).
    let natural = 63 - size.leading_zeros() as u8;
    let pick = |core: &mut Core| {
        (12..=natural)
            .rev()
            .find_map(|a| core.ours.find_block(size, a, None).ok())
            .ok_or(Error::Failed("session-bench: no block for a sized floor"))
    };
    // The scratch region's paging structures first (so they are not placed where the leaves
    // below are retyped behind the allocator's back): a probe frame of each run's type mapped
    // wherever a frame of the run goes into a region not mapped yet, then freed. Until the
    // block the leaves go into is the one picked before (placing paging may take from it).
    let mut paging: heapless::Vec<sel4_core::phys_allocator::ObjectId, 64> = heapless::Vec::new();
    let mut base = pick(core)?;
    loop {
        let mut va = SCRATCH;
        let mut covered: Option<u64> = None;
        for run in layout::runs(base, size, 21, 8) {
            let ty = frame(run.frame_bits);
            // A frame's parent structure covers this much.
            let span = 1u64 << ty.paging_parent().and_then(|p| p.vspan_bits()).unwrap_or(21);
            for _ in 0..1u32 << run.count_log2 {
                if covered != Some(va & !(span - 1)) {
                    covered = Some(va & !(span - 1));
                    let (ours, kernel) = (&mut core.ours, &mut core.kernel);
                    let probe =
                        ours.alloc(kernel, ty, 0).map_err(|failure| Error::Alloc { ty, size_bits: 0, failure })?;
                    let mut place = |t| {
                        let p = ours.alloc(kernel, t, 0)?;
                        paging.push(p.handle).map_err(|_| sel4_core::phys_allocator::AllocFailure::NoBlock)?;
                        Ok(p.slot)
                    };
                    vspace::map_frame(&mut place, how, probe.slot, ty, va, &mut Mapped::default())?;
                    core.ours.free(&mut core.kernel, probe.handle)?;
                }
                va += 1 << run.frame_bits;
            }
        }
        let again = pick(core)?;
        if again == base {
            break;
        }
        base = again;
    }
    // Leaves of exactly each run: placed once, freed (the leaves stay, free), their slots kept.
    let mut runs: heapless::Vec<(Slot, layout::Run), 64> = heapless::Vec::new();
    for run in layout::runs(base, size, 21, 8) {
        let p = core
            .ours
            .alloc_run_at(&mut core.kernel, frame(run.frame_bits), 0, run.paddr, run.count_log2)
            .map_err(|failure| Error::Alloc { ty: frame(run.frame_bits), size_bits: 0, failure })?;
        let node = core.ours.node_of(p.handle).ok_or(Error::Failed("session-bench: a run just placed is not live"))?;
        runs.push((core.ours.placer.pool.info(node).slot, run))
            .map_err(|_| Error::Failed("session-bench: too many runs"))?;
        core.ours.free(&mut core.kernel, p.handle)?;
    }
    let dest = core.ours.placer.caps.alloc_run(256).map_err(|_| Error::Failed("session-bench: no 256 free slots"))?;
    let (mut invocations, mut frames) = (0, 0);
    let mut round = |core: &mut Core| -> Result<(), Error> {
        let mut va = SCRATCH;
        for &(leaf, run) in &runs {
            let ty = frame(run.frame_bits);
            let k = &mut core.kernel.inner;
            k.untyped_retype(leaf, ty, 0, dest, 1 << run.count_log2).map_err(|e| Error::Kernel("retype", e))?;
            for i in 0..1u32 << run.count_log2 {
                let slot = (dest.0 + i) as Word;
                let r = match ty {
                    ObjectType::Frame2M => {
                        Cap::<cap_type::LargePage>::from_bits(slot).frame_map(how.vspace, va, how.rights, how.attrs)
                    }
                    _ => Cap::<cap_type::Frame4K>::from_bits(slot).frame_map(how.vspace, va, how.rights, how.attrs),
                };
                r.map_err(|e| Error::Kernel("map", e))?;
                va += 1 << run.frame_bits;
            }
            // Revoking the leaf deletes the frames, which unmaps them.
            k.cnode_revoke(leaf).map_err(|e| Error::Kernel("revoke", e))?;
            invocations += 2 + (1u64 << run.count_log2);
            frames += 1u64 << run.count_log2;
        }
        Ok(())
    };
    for _ in 0..rounds {
        round(core)?;
    }
    let t0 = rdtsc();
    for _ in 0..rounds {
        round(core)?;
    }
    let cycles = (rdtsc() - t0) / rounds;
    let per_round = invocations / (2 * rounds);
    let frames = frames / (2 * rounds);
    core.ours.placer.caps.free_run(dest, 256).map_err(|_| Error::Failed("session-bench: slots not given back"))?;
    while let Some(h) = paging.pop() {
        core.ours.free(&mut core.kernel, h)?;
    }
    core.ours.free(&mut core.kernel, pml4.handle)?;
    Ok((cycles, per_round, frames))
}

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    let mut run = sel4_core_selftest::start(bi, "session-bench", sel4_core_selftest::machine(bi))?;
    sel4_core::root::heap::reserve(&mut run.core, sel4_core::root::heap::HEADROOM)?;
    let system = System::decode(SYSTEM)?;
    let (floor_spec, bench_spec) = (spec(&system, "ipc-floor")?, spec(&system, "session-bench")?);
    let size_spec = spec(&system, "size-bench")?;
    let core = &mut run.core;
    child::prepare_windows(core, 1)?;
    let ipc = ipc_floor(core, &floor_spec)?;
    println!("bench: ipc floor {ipc} cycles per round trip");
    let kernel = kernel_floor(core, false)?;
    println!("bench: kernel floor {kernel} cycles per retype + revoke");
    let caps = kernel_floor(core, true)?;
    println!("bench: kernel floor caps {caps} cycles per retype + copy + revoke");
    // Core printing a line of 80 bytes itself, prefixed as it prints the bench service's:
    // what every log line costs besides its request.
    let print = bench::time(bench::LOG_ROUNDS, || {
        println!("[session-bench] {}", bench::LOG_LINE);
        Ok::<(), Error>(())
    })?;
    println!("bench: print floor {print} cycles per line of 80 bytes");
    for (name, size, rounds) in SIZES {
        let (cycles, invocations, frames) = sized_floor(core, size, rounds)?;
        println!(
            "bench: kernel floor map {name} {cycles} cycles per retype + map + revoke ({invocations} invocations, {frames} frames)"
        );
    }
    // One at a time, so neither's figures include the other's work.
    for spec in [bench_spec, size_spec] {
        let out = server::serve(core, &[spec], &[], &[])?;
        if out.exited != 1 {
            return Err(Error::Failed("session-bench: a bench service did not exit"));
        }
    }
    sel4_core_selftest::finish(&run);
    Ok(())
}
