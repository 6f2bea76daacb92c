//! bystander: a well-behaved service beside misbehaving ones. It opens a RAM session and, round
//! after round, allocates a dataspace, maps it, writes a pattern to every page, yields (the
//! others run, fault and are reclaimed meanwhile), checks the pattern is still there and frees
//! it. It exits with 0 only if every round's data was intact and every request was served.
#![no_std]
#![no_main]

use core::fmt;

use sel4_core_protocol::session::AllocOptions;
use sel4_core_protocol::{RamSession, SessionError};
use sel4_runtime::memory::{self, Mismatch};
use sel4_runtime::{declare_main, println, Core};

declare_main!(main);

/// Rounds of allocate, map, touch, yield, check, free.
const ROUNDS: u64 = 96;
/// Where each round's dataspace is mapped.
const VADDR: u64 = 0x2000_0000;
/// Sizes cycle through 4 KiB to 64 KiB.
const SIZES: u32 = 5;

enum Error {
    Session(u64, &'static str, SessionError),
    Data(u64, Mismatch),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Session(round, what, e) => write!(f, "round {round}: {what}: {e}"),
            Error::Data(round, m) => write!(f, "round {round}: data MISMATCH: {m}"),
        }
    }
}

fn main(_: usize) -> Result<(), Error> {
    let t = &mut Core;
    println!("bystander: started");
    let ram = RamSession::open(t, 1 << 20, 64).map_err(|e| Error::Session(0, "open", e))?;
    for round in 0..ROUNDS {
        let s = |what, e| Error::Session(round, what, e);
        let size = 4096u64 << (round as u32 % SIZES);
        let ds = ram.alloc(t, size, AllocOptions::default()).map_err(|e| s("alloc", e))?;
        ram.map(t, ds, VADDR).map_err(|e| s("map", e))?;
        // SAFETY: core just mapped the dataspace read-write at VADDR for `size` bytes, and
        // nothing else here refers to that memory until it is freed below.
        unsafe { memory::touch(VADDR, size, round) }.map_err(|m| Error::Data(round, m))?;
        sel4::syscalls::yield_now();
        // SAFETY: as above; still mapped.
        unsafe { memory::verify(VADDR, size, round) }.map_err(|m| Error::Data(round, m))?;
        ram.free(t, ds).map_err(|e| s("free", e))?;
    }
    ram.close(t).map_err(|e| Error::Session(ROUNDS, "close", e))?;
    println!("bystander: {ROUNDS} rounds of alloc, map, touch, yield, check, free: data intact");
    Ok(())
}
