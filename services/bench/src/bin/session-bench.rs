//! session-bench: times RAM session round trips as a client sees them, `bench::ROUNDS` of each
//! after as many to warm up, and prints `bench: session <op> <cycles> cycles per op`:
//! - `null`: a usage request (no work: core looks up the session and answers);
//! - `alloc+free`: a 4 KiB dataspace allocated and freed (two requests);
//! - `alloc+caps+free`: the same with its frame cap handed over in between (three);
//! - `alloc+map+free`: the same mapped in between (three; the page table stays after the first);
//! - `alloc+map+free <size>`: the same for each of `bench::SIZES` (its own address, 1 GiB
//!   apart, whose paging structures stay after the first round).
#![no_std]
#![no_main]

use bench::{rdtsc, ROUNDS, SIZES};
use sel4_core_protocol::session::AllocOptions;
use sel4_core_protocol::{RamSession, SessionError};
use sel4_runtime::{declare_main, println, Core};

declare_main!(main);

const VADDR: u64 = 0x1000_0000;
const CAP_SLOT: u64 = 32;

/// Cycles per call of `op`, after as many calls to warm up.
fn time(op: impl FnMut() -> Result<(), SessionError>) -> Result<u64, SessionError> {
    time_n(ROUNDS, op)
}

fn time_n(rounds: u64, mut op: impl FnMut() -> Result<(), SessionError>) -> Result<u64, SessionError> {
    for _ in 0..rounds {
        op()?;
    }
    let t0 = rdtsc();
    for _ in 0..rounds {
        op()?;
    }
    Ok((rdtsc() - t0) / rounds)
}

fn main(_: usize) -> Result<(), SessionError> {
    let t = &mut Core;
    let ram = RamSession::open(t, 1 << 20, 64)?;
    let page = AllocOptions::default();
    let null = time(|| ram.usage(&mut Core).map(|_| ()))?;
    println!("bench: session null {null} cycles per op");
    let alloc_free = time(|| {
        let d = ram.alloc(&mut Core, 4096, page)?;
        ram.free(&mut Core, d)
    })?;
    println!("bench: session alloc+free {alloc_free} cycles per op");
    let with_caps = time(|| {
        let d = ram.alloc(&mut Core, 4096, page)?;
        ram.caps(&mut Core, d, CAP_SLOT)?;
        ram.free(&mut Core, d)
    })?;
    println!("bench: session alloc+caps+free {with_caps} cycles per op");
    let mapped = time(|| {
        let d = ram.alloc(&mut Core, 4096, page)?;
        ram.map(&mut Core, d, VADDR)?;
        ram.free(&mut Core, d)
    })?;
    println!("bench: session alloc+map+free {mapped} cycles per op");
    ram.close(t)?;
    // Each size in a session of its own, large enough for the largest.
    let big = RamSession::open(t, 72 << 20, 1024)?;
    for (i, (name, size, rounds)) in SIZES.into_iter().enumerate() {
        let at = (i as u64 + 1) << 30;
        let cycles = time_n(rounds, || {
            let d = big.alloc(&mut Core, size, page)?;
            big.map(&mut Core, d, at)?;
            big.free(&mut Core, d)
        })?;
        println!("bench: session alloc+map+free {name} {cycles} cycles per op");
        // What core is charged beside the frames (the quota rule is exact: what core spends),
        // per MiB of dataspace: its record and its runs' (the paging structures for `at` are
        // the session's already).
        let used0 = big.usage(&mut Core)?.ram_used;
        let d = big.alloc(&mut Core, size, page)?;
        big.map(&mut Core, d, at)?;
        let extra = big.usage(&mut Core)?.ram_used - used0 - size;
        big.free(&mut Core, d)?;
        println!("bench: session bytes per MiB {name} {} bytes of core's per MiB mapped", extra * (1 << 20) / size);
    }
    big.close(t)
}
