//! A child's log text as core prints it, line by line: where a full line may be cut without
//! splitting a character ([`utf8_tail`]), and bytes that are not UTF-8 shown as `\xNN`
//! ([`Escaped`]). Host-tested; the root task's server uses both (`root::server::children`).

use core::fmt;

/// How many bytes at the end of `line` are the start of a character not complete yet (at most
/// 3; 0 if the line ends with a whole character, or with bytes that are no UTF-8).
pub fn utf8_tail(line: &[u8]) -> usize {
    for back in 1..=3.min(line.len()) {
        let width = match line[line.len() - back] {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            0x80..=0xbf => continue,
            _ => return 0,
        };
        return if width > back { back } else { 0 };
    }
    0
}

/// `bytes` shown as text: UTF-8 as it is, every other byte as `\xNN`.
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn a_cut_keeps_characters_whole() {
        assert_eq!(utf8_tail(b"plain"), 0);
        assert_eq!(utf8_tail("é".as_bytes()), 0, "a whole character");
        assert_eq!(utf8_tail(&"é".as_bytes()[..1]), 1, "the first of two bytes");
        assert_eq!(utf8_tail(&"€".as_bytes()[..2]), 2, "two of three");
        assert_eq!(utf8_tail(&"😀".as_bytes()[..3]), 3, "three of four");
        assert_eq!(utf8_tail(&[b'a', 0xff]), 0, "no UTF-8: nothing to keep");
        assert_eq!(utf8_tail(&[0x80, 0x80, 0x80]), 0, "continuations without a start");
        assert_eq!(utf8_tail(&[]), 0);
    }

    #[test]
    fn bytes_that_are_no_utf8_are_escaped() {
        assert_eq!(Escaped(b"ok").to_string(), "ok");
        assert_eq!(Escaped(&[b'a', 0xff, b'b']).to_string(), "a\\xffb");
        assert_eq!(Escaped("é€".as_bytes()).to_string(), "é€");
        assert_eq!(Escaped(&"€".as_bytes()[..2]).to_string(), "\\xe2\\x82");
    }
}
