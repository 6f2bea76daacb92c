//! session-bench: times RAM session round trips as a client sees them, `bench::ROUNDS` of each
//! after as many to warm up, and prints `bench: session <op> <cycles> cycles per op`:
//! - `null`: a usage request (no work: core looks up the session and answers);
//! - `alloc+free`: a 4 KiB dataspace allocated and freed (two requests);
//! - `alloc+caps+free`: the same with its frame cap handed over in between (three);
//! - `alloc+map+free`: the same mapped in between (three; the page table stays after the first).
//!
//! Dataspaces of other sizes are `size-bench`'s, a child of its own, so that core's per-request
//! work printed for this one is of these requests alone.
#![no_std]
#![no_main]

use bench::ROUNDS;
use sel4_core_protocol::session::AllocOptions;
use sel4_core_protocol::{RamSession, SessionError};
use sel4_runtime::{declare_main, println, Core};

declare_main!(main);

const VADDR: u64 = 0x1000_0000;
const CAP_SLOT: u64 = 32;

/// Cycles per call of `op`, after as many calls to warm up.
fn time(op: impl FnMut() -> Result<(), SessionError>) -> Result<u64, SessionError> {
    bench::time(ROUNDS, op)
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
    ram.close(t)
}
