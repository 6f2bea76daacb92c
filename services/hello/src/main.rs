//! hello, the smallest service: checks that its `.bss` is really there and zero (core
//! loads the image; the loader, not this program, must provide the zeroed memory), writes
//! it, says hello in core's log and exits with success.
#![no_std]
#![no_main]

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use sel4_runtime::{declare_main, println};

/// 64 KiB of `.bss`: more than one page, so a loader that maps only the first one fails.
const WORDS: usize = 8192;
/// Atomics: reads and writes that really go to memory, without `unsafe`.
static BSS: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];

declare_main!(main);

enum Error {
    NotZero { offset: usize, value: u64 },
    NotKept { offset: usize, wrote: u64, read: u64 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NotZero { offset, value } => write!(f, "bss byte {offset:#x} holds {value:#x}, not zero"),
            Error::NotKept { offset, wrote, read } => {
                write!(f, "bss byte {offset:#x} reads {read:#x} after writing {wrote:#x}")
            }
        }
    }
}

/// A value per word that differs from its neighbours and from zero.
fn pattern(i: usize) -> u64 {
    (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn main(index: usize) -> Result<(), Error> {
    for (i, w) in BSS.iter().enumerate() {
        let value = w.load(Ordering::Relaxed);
        if value != 0 {
            return Err(Error::NotZero { offset: 8 * i, value });
        }
        w.store(pattern(i), Ordering::Relaxed);
    }
    for (i, w) in BSS.iter().enumerate() {
        let read = w.load(Ordering::Relaxed);
        if read != pattern(i) {
            return Err(Error::NotKept { offset: 8 * i, wrote: pattern(i), read });
        }
    }
    println!("hello: service {index} running, {} bytes of bss zeroed", 8 * WORDS);
    Ok(())
}
