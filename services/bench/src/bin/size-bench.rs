//! size-bench: dataspaces of each of `bench::SIZES` allocated, mapped and freed, as a client
//! sees them, and what core is charged for each beside its frames. Prints
//! `bench: session alloc+map+free <size> <cycles> cycles per op` and
//! `bench: session bytes per MiB <size> <bytes> ...`; `core-session-bench` measures the kernel
//! floor of each size in the same boot.
#![no_std]
#![no_main]

use bench::SIZES;
use sel4_core_protocol::session::AllocOptions;
use sel4_core_protocol::{RamSession, SessionError};
use sel4_runtime::{declare_main, println, Core};

declare_main!(main);

fn main(_: usize) -> Result<(), SessionError> {
    let t = &mut Core;
    let page = AllocOptions::default();
    // One session large enough for the largest size.
    let big = RamSession::open(t, 72 << 20, 1024)?;
    for (i, (name, size, rounds)) in SIZES.into_iter().enumerate() {
        // Each size at an address of its own, 1 GiB apart: its paging structures stay with the
        // session after the first round.
        let at = (i as u64 + 1) << 30;
        let cycles = bench::time(rounds, || {
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
