//! sel4-core-sizes: the one grammar of sizes and numbers every text file of the system is
//! written in (scenario files, system descriptions, request scripts), so `ram=4` means the
//! same everywhere: 4 bytes. `no_std`, no allocation.
//!
//! - A **number** is decimal digits or `0x` and hex digits: `4096`, `0x1000`.
//! - A **size** is a number optionally followed by a binary unit, `K`, `M` or `G` (any case,
//!   optionally `KiB`/`KB` and so on): `4096`, `4K`, `0x10M`, `3g`. A size without a unit is
//!   bytes.
#![no_std]

use core::fmt;

/// Why a text is no number or size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Not digits (decimal, or hex after `0x`), with a unit where a size may have one.
    NotANumber,
    /// A unit other than K, M or G.
    UnknownUnit,
    /// More than 64 bits.
    TooLarge,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::NotANumber => "not a number (decimal, or hex after 0x)",
            Error::UnknownUnit => "unknown unit (K, M or G)",
            Error::TooLarge => "more than 64 bits",
        })
    }
}

/// A number: decimal digits, or `0x` and hex digits.
pub fn number(text: &str) -> Result<u64, Error> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => u64::from_str_radix(hex, 16),
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse(),
        _ => return Err(Error::NotANumber),
    };
    parsed.map_err(|_| Error::TooLarge)
}

/// A size in bytes: a [`number`] with an optional unit `K`, `M` or `G` (×2^10, 2^20, 2^30).
pub fn size(text: &str) -> Result<u64, Error> {
    // The unit starts after the digits (hex digits after `0x`, where `G` is no digit).
    let digits_end = match text.strip_prefix("0x") {
        Some(hex) => 2 + hex.bytes().take_while(u8::is_ascii_hexdigit).count(),
        None => text.bytes().take_while(u8::is_ascii_digit).count(),
    };
    let (digits, unit) = text.split_at(digits_end);
    let shift = match unit.as_bytes() {
        [] => 0,
        [u] | [u, b'B' | b'b'] | [u, b'i' | b'I', b'B' | b'b'] => match u.to_ascii_uppercase() {
            b'K' => 10,
            b'M' => 20,
            b'G' => 30,
            _ => return Err(if number(digits).is_ok() { Error::UnknownUnit } else { Error::NotANumber }),
        },
        _ => return Err(if number(digits).is_ok() { Error::UnknownUnit } else { Error::NotANumber }),
    };
    number(digits)?.checked_mul(1 << shift).ok_or(Error::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_numbers() {
        assert_eq!(size("4"), Ok(4));
        assert_eq!(size("4K"), Ok(4096));
        assert_eq!(size("4k"), Ok(4096));
        assert_eq!(size("4KiB"), Ok(4096));
        assert_eq!(size("512M"), Ok(512 << 20));
        assert_eq!(size("3G"), Ok(3 << 30));
        assert_eq!(size("0x10M"), Ok(16 << 20));
        assert_eq!(size("0x1000"), Ok(4096));
        assert_eq!(number("0xffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(number("4K"), Err(Error::NotANumber));
    }

    #[test]
    fn what_is_wrong_is_said() {
        assert_eq!(size(""), Err(Error::NotANumber));
        assert_eq!(size("K"), Err(Error::NotANumber));
        assert_eq!(size("4T"), Err(Error::UnknownUnit));
        assert_eq!(size("4KK"), Err(Error::UnknownUnit));
        assert_eq!(size("lots"), Err(Error::NotANumber));
        assert_eq!(size("0x"), Err(Error::NotANumber));
        assert_eq!(size("99999999999G"), Err(Error::TooLarge));
        assert_eq!(size("18446744073709551616"), Err(Error::TooLarge));
        assert_eq!(size("-1"), Err(Error::NotANumber));
    }
}
