//! Untyped layout files: one untyped per line, `<paddr> <size_bits> [device]`,
//! `#` starts a comment; paddr hex `0x..` or decimal. The same shape as
//! bootinfo's untyped list. Streaming and allocation-free like the trace
//! parser.
//!
//! Untypeds are 2^4..2^47 bytes, 16-byte aligned and end below 2^64; they need not be
//! naturally aligned *physically*: the kernel cuts boot regions by the
//! alignment of their kernel virtual address
//! (src/kernel/boot.c:create_untypeds_for_region takes `ctzl` of the pptr),
//! and above the 512 GiB kernel window that address wraps, so a real boot
//! hands out e.g. a 2^40-byte device untyped at 0x18000000000.

use core::fmt;

use super::parse_u64;
use sel4_core::object::{MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};

/// One untyped of a layout: the kernel's descriptor, with the slot a root task would find its
/// cap in (file order from [`FIRST_UNTYPED_SLOT`], as bootinfo numbers them).
pub use sel4_core::kernel::{Slot, UntypedDesc};

/// Slot of a layout's first untyped: slots below hold the initial caps (`seL4_NumInitialCaps`).
pub const FIRST_UNTYPED_SLOT: u32 = sel4_abi::sys::seL4_NumInitialCaps as u32;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind<'a> {
    MissingField(&'static str),
    BadNumber {
        field: &'static str,
        token: &'a str,
    },
    /// A third field other than `device`, or a fourth field.
    ExtraField(&'a str),
    SizeBitsOutOfRange(u64),
    /// paddr not a multiple of 16 (`seL4_MinUntypedBits`).
    Misaligned(u64),
    /// `paddr + 2^size_bits` does not fit in 64 bits.
    EndOverflow {
        paddr: u64,
        size_bits: u8,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Error<'a> {
    pub line: usize,
    pub kind: ErrorKind<'a>,
}

impl fmt::Display for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match self.kind {
            ErrorKind::MissingField(n) => write!(f, "missing field <{n}>"),
            ErrorKind::BadNumber { field, token } => write!(f, "<{field}> `{token}` is not a valid number"),
            ErrorKind::ExtraField(t) => write!(f, "unexpected field `{t}` (expected `device` or nothing)"),
            ErrorKind::SizeBitsOutOfRange(b) => {
                write!(f, "size_bits {b} out of range {MIN_UNTYPED_BITS}..={MAX_UNTYPED_BITS}")
            }
            ErrorKind::Misaligned(a) => write!(f, "paddr {a:#x} not aligned to 16 bytes"),
            ErrorKind::EndOverflow { paddr, size_bits } => {
                write!(f, "untyped of 2^{size_bits} bytes at {paddr:#x} ends past the 64-bit address space")
            }
        }
    }
}

/// Parse one line, the untyped in `slot`; `Ok(None)` for blank and comment lines.
pub fn parse_line(line: &str, slot: Slot) -> Result<Option<UntypedDesc>, ErrorKind<'_>> {
    let content = line.split('#').next().unwrap_or("");
    let mut t = content.split_ascii_whitespace();
    let Some(p) = t.next() else {
        return Ok(None);
    };
    let paddr = parse_u64("paddr", p).map_err(|_| ErrorKind::BadNumber { field: "paddr", token: p })?;
    let s = t.next().ok_or(ErrorKind::MissingField("size_bits"))?;
    let sb = parse_u64("size_bits", s).map_err(|_| ErrorKind::BadNumber { field: "size_bits", token: s })?;
    let is_device = match t.next() {
        None => false,
        Some("device") => true,
        Some(other) => return Err(ErrorKind::ExtraField(other)),
    };
    if let Some(extra) = t.next() {
        return Err(ErrorKind::ExtraField(extra));
    }
    if !(u64::from(MIN_UNTYPED_BITS)..=u64::from(MAX_UNTYPED_BITS)).contains(&sb) {
        return Err(ErrorKind::SizeBitsOutOfRange(sb));
    }
    if paddr & 0xf != 0 {
        return Err(ErrorKind::Misaligned(paddr));
    }
    // Users form the end address; it must be a u64 (no x86_64 physical
    // address comes near 2^64, so nothing real is refused).
    if paddr.checked_add(1u64 << sb).is_none() {
        return Err(ErrorKind::EndOverflow { paddr, size_bits: sb as u8 });
    }
    Ok(Some(UntypedDesc { slot, paddr, size_bits: sb as u8, is_device }))
}

/// Iterate over the untypeds of a layout text, stopping after an error.
pub fn parse(text: &str) -> impl Iterator<Item = Result<UntypedDesc, Error<'_>>> + '_ {
    let mut failed = false;
    let mut slot = FIRST_UNTYPED_SLOT;
    text.lines().enumerate().filter_map(move |(i, l)| {
        if failed {
            return None;
        }
        match parse_line(l, Slot(slot)) {
            Ok(d) => {
                slot += d.is_some() as u32;
                d.map(Ok)
            }
            Err(kind) => {
                failed = true;
                Some(Err(Error { line: i + 1, kind }))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    #[test]
    fn parses_and_rejects() {
        let ok: Vec<_> = parse("# c\n0x100000 20\n\n8192 12 device # dev\n").map(|r| r.unwrap()).collect();
        assert_eq!(
            ok,
            [
                UntypedDesc { slot: Slot(FIRST_UNTYPED_SLOT), paddr: 0x100000, size_bits: 20, is_device: false },
                UntypedDesc { slot: Slot(FIRST_UNTYPED_SLOT + 1), paddr: 8192, size_bits: 12, is_device: true }
            ]
        );
        let err = |t| parse(t).find_map(|r| r.err()).unwrap().to_string();
        assert_eq!(err("0x0 12\n0x808 12"), "line 2: paddr 0x808 not aligned to 16 bytes");
        assert_eq!(err("0x0 3"), "line 1: size_bits 3 out of range 4..=47");
        assert_eq!(err("0x0 12 dev"), "line 1: unexpected field `dev` (expected `device` or nothing)");
        assert_eq!(err("0x0 12 device x"), "line 1: unexpected field `x` (expected `device` or nothing)");
        assert_eq!(err("0x0"), "line 1: missing field <size_bits>");
        assert_eq!(err("0xg 12"), "line 1: <paddr> `0xg` is not a valid number");
        assert_eq!(err("0x0 48"), "line 1: size_bits 48 out of range 4..=47");
        assert_eq!(
            err("0x0 12\n0xffffffffffffe000 13"),
            "line 2: untyped of 2^13 bytes at 0xffffffffffffe000 ends past the 64-bit address space"
        );
        assert_eq!(
            parse_line("0xffff800000000000 47 device", Slot(1)),
            Err(ErrorKind::EndOverflow { paddr: 0xffff_8000_0000_0000, size_bits: 47 })
        );
        assert!(parse_line("0xffffffffffffc000 13", Slot(1)).unwrap().is_some());
    }

    #[test]
    fn natural_alignment_is_reported_not_required() {
        let d = parse_line("0x18000000000 40 device", Slot(1)).unwrap().unwrap();
        assert!(!d.naturally_aligned());
        assert!(parse_line("0x10000000000 40 device", Slot(1)).unwrap().unwrap().naturally_aligned());
    }

    #[test]
    fn kernel_alignment_is_by_kernel_virtual_address() {
        // Above the 512 GiB window the two alignments part for blocks > 2^39.
        assert!(parse_line("0x18000000000 40 device", Slot(1)).unwrap().unwrap().kernel_aligned());
        assert!(!parse_line("0x10000000000 40 device", Slot(1)).unwrap().unwrap().kernel_aligned());
        // Below it they agree.
        assert!(parse_line("0x100000 20", Slot(1)).unwrap().unwrap().kernel_aligned());
        assert!(!parse_line("0x80000 20", Slot(1)).unwrap().unwrap().kernel_aligned());
    }
}
