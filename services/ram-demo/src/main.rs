//! ram-demo: allocates RAM from core through a RAM session: a 4 KiB, a 2 MiB and a 12 KiB
//! dataspace, each physically contiguous and below 4 GiB, maps each, writes a pattern to every
//! page and reads it back, prints the physical addresses, has core hand it the caps of the last
//! one's frames (and asks the kernel where they are), frees them and closes the session.
#![no_std]
#![no_main]

use core::fmt;

use sel4::{cap_type, Cap};
use sel4_core_protocol::session::AllocOptions;
use sel4_core_protocol::{CacheAttr, ErrorCode, PhysRange, RamSession, SessionError};
use sel4_runtime::{declare_main, memory, println, Core};

declare_main!(main);

/// Where the dataspaces are mapped: 2 MiB apart, so the 2 MiB one can use a large frame.
const VADDR: u64 = 0x1000_0000;
const SIZES: [u64; 3] = [4 << 10, 2 << 20, 12 << 10];
const BELOW_4G: PhysRange = PhysRange { lo: 0, hi: 1 << 32 };

/// Where core puts the frame caps it hands over: free slots of this service's CNode.
const CAP_SLOT: u64 = 32;

enum Error {
    Session(&'static str, SessionError),
    Caps(&'static str),
    Mismatch(memory::Mismatch),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Session(what, e) => write!(f, "{what}: {e}"),
            Error::Caps(what) => write!(f, "frame caps: {what}"),
            Error::Mismatch(m) => m.fmt(f),
        }
    }
}

fn s<T>(what: &'static str, r: Result<T, SessionError>) -> Result<T, Error> {
    r.map_err(|e| Error::Session(what, e))
}

/// Writes a pattern to every page of `[vaddr, vaddr + size)` and reads it back.
fn touch(vaddr: u64, size: u64) -> Result<(), Error> {
    // SAFETY: core mapped the dataspace read-write at `vaddr` for `size` bytes before this
    // runs, and nothing else in this program refers to that memory.
    unsafe { memory::touch(vaddr, size, 0) }.map_err(Error::Mismatch)
}

fn main(_: usize) -> Result<(), Error> {
    let t = &mut Core;
    let ram = s("open", RamSession::open(t, 4 << 20, 16))?;
    let options = AllocOptions { align_log2: 0, cache: CacheAttr::Cached, range: Some(BELOW_4G) };
    let mut vaddr = VADDR;
    let mut spaces = [None; 3];
    for (i, &size) in SIZES.iter().enumerate() {
        let ds = s("alloc", ram.alloc(t, size, options))?;
        // A virtual address congruent to the physical one modulo the largest frame.
        let align = (1u64 << ds.frame_bits) - 1;
        let va = (vaddr + align) & !align | (ds.paddr & align);
        s("map", ram.map(t, ds, va))?;
        touch(va, size)?;
        println!(
            "ram-demo: {} KiB at paddr {:#x}, mapped at {va:#x}, every page written and read back",
            size >> 10,
            ds.paddr
        );
        vaddr = va + size;
        spaces[i] = Some(ds);
    }
    // The last dataspace's frame caps, in slots of this service's CNode: the kernel must place
    // each frame where core said; a second handing into the same slots is refused.
    let last = spaces[2].ok_or(Error::Caps("no dataspace"))?;
    let n = s("caps", ram.caps(t, last, CAP_SLOT))?;
    for i in 0..n {
        let frame: Cap<cap_type::Frame4K> = Cap::from_bits(CAP_SLOT + i);
        match frame.frame_get_address() {
            Ok(a) if a == last.paddr + i * 4096 => {}
            _ => return Err(Error::Caps("a frame is not where core said")),
        }
    }
    println!("ram-demo: {n} frame caps in slots {CAP_SLOT}.., the kernel agrees on their addresses");
    match ram.caps(t, last, CAP_SLOT) {
        Err(e) if e.code() == Some(ErrorCode::InvalidArgument) => {
            println!("ram-demo: caps into occupied slots: refused with InvalidArgument")
        }
        _ => return Err(Error::Caps("caps into occupied slots were not refused")),
    }
    for ds in spaces.into_iter().flatten() {
        s("free", ram.free(t, ds))?;
    }
    s("close", ram.close(t))?;
    println!("ram-demo: freed and closed");
    Ok(())
}
