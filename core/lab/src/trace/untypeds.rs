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

/// One untyped of a layout.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UntypedDesc {
    pub paddr: u64,
    pub size_bits: u8,
    pub is_device: bool,
}

impl UntypedDesc {
    pub fn end(&self) -> u64 {
        self.paddr.saturating_add(1u64 << self.size_bits)
    }

    /// Aligned to its own size physically (every RAM untyped is).
    pub fn naturally_aligned(&self) -> bool {
        self.paddr & ((1u64 << self.size_bits) - 1) == 0
    }

    /// Aligned to its own size by kernel virtual address, as the kernel
    /// cuts every boot untyped (src/kernel/boot.c:create_untypeds_for_region);
    /// an untyped that is not could never come from a real boot.
    pub fn kernel_aligned(&self) -> bool {
        sel4_core::kernel::kernel_aligned(self.paddr, self.size_bits)
    }
}

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

/// Parse one line; `Ok(None)` for blank and comment lines.
pub fn parse_line(line: &str) -> Result<Option<UntypedDesc>, ErrorKind<'_>> {
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
    Ok(Some(UntypedDesc { paddr, size_bits: sb as u8, is_device }))
}

/// Iterate over the untypeds of a layout text, stopping after an error.
pub fn parse(text: &str) -> impl Iterator<Item = Result<UntypedDesc, Error<'_>>> + '_ {
    let mut failed = false;
    text.lines().enumerate().filter_map(move |(i, l)| {
        if failed {
            return None;
        }
        match parse_line(l) {
            Ok(d) => d.map(Ok),
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
                UntypedDesc { paddr: 0x100000, size_bits: 20, is_device: false },
                UntypedDesc { paddr: 8192, size_bits: 12, is_device: true }
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
            parse_line("0xffff800000000000 47 device"),
            Err(ErrorKind::EndOverflow { paddr: 0xffff_8000_0000_0000, size_bits: 47 })
        );
        assert!(parse_line("0xffffffffffffc000 13").unwrap().is_some());
    }

    #[test]
    fn natural_alignment_is_reported_not_required() {
        let d = parse_line("0x18000000000 40 device").unwrap().unwrap();
        assert!(!d.naturally_aligned());
        assert!(parse_line("0x10000000000 40 device").unwrap().unwrap().naturally_aligned());
    }

    #[test]
    fn kernel_alignment_is_by_kernel_virtual_address() {
        // Above the 512 GiB window the two alignments part for blocks > 2^39.
        assert!(parse_line("0x18000000000 40 device").unwrap().unwrap().kernel_aligned());
        assert!(!parse_line("0x10000000000 40 device").unwrap().unwrap().kernel_aligned());
        // Below it they agree.
        assert!(parse_line("0x100000 20").unwrap().unwrap().kernel_aligned());
        assert!(!parse_line("0x80000 20").unwrap().unwrap().kernel_aligned());
    }
}
