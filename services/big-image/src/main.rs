//! big-image: a service whose image is large, to show that core loads an ELF of any size. It
//! has 16 MiB of initialised data (generated when it is built, with their hash) and 64 MiB of
//! `.bss`; it checks every data byte against the hash, that every page of its `.bss` is zero,
//! and that the `.bss` keeps what it writes, then exits with success.
#![no_std]
#![no_main]

use core::fmt;

use sel4_runtime::{declare_main, println};

include!(concat!(env!("OUT_DIR"), "/expected.rs"));

/// The initialised data, as built.
static DATA: &[u8; DATA_BYTES] = include_bytes!(concat!(env!("OUT_DIR"), "/data.bin"));
/// Words of `.bss`: 64 MiB.
const BSS_WORDS: usize = (64 << 20) / 8;
/// Words per page.
const PAGE_WORDS: usize = 4096 / 8;
static mut BSS: [u64; BSS_WORDS] = [0; BSS_WORDS];

declare_main!(main);

enum Error {
    Data { hash: u64 },
    NotZero { offset: usize, value: u64 },
    NotKept { offset: usize, wrote: u64, read: u64 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Data { hash } => write!(f, "data hash {hash:#x}, built with {DATA_HASH:#x}"),
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
    // Read through a pointer the compiler cannot see through, so the bytes come from memory.
    let data = core::hint::black_box(DATA);
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    if hash != DATA_HASH {
        return Err(Error::Data { hash });
    }
    let bss = core::ptr::addr_of_mut!(BSS).cast::<u64>();
    // The first and last word of every page: zero, then written and read back.
    let words = (0..BSS_WORDS).step_by(PAGE_WORDS).flat_map(|p| [p, p + PAGE_WORDS - 1]);
    for i in words.clone() {
        // SAFETY: `i < BSS_WORDS`, the service's one thread is the only one touching BSS, and
        // volatile accesses keep the loads and stores real.
        let value = unsafe { bss.add(i).read_volatile() };
        if value != 0 {
            return Err(Error::NotZero { offset: 8 * i, value });
        }
        // SAFETY: as above.
        unsafe { bss.add(i).write_volatile(pattern(i)) };
    }
    for i in words {
        // SAFETY: as above.
        let read = unsafe { bss.add(i).read_volatile() };
        if read != pattern(i) {
            return Err(Error::NotKept { offset: 8 * i, wrote: pattern(i), read });
        }
    }
    println!(
        "big-image: service {index} running, {} bytes of data as built (hash {hash:#x}), {} bytes of bss zeroed",
        DATA_BYTES,
        8 * BSS_WORDS
    );
    Ok(())
}
