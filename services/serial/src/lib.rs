//! serial: the protocol of the serial driver and the line discipline it keeps, plain `no_std`
//! Rust tested on the host. A client calls `Read` (the next whole line, copied into the
//! channel's shared page, or none yet: the driver then signals the channel when one comes) and
//! `Write` (bytes the client put in the shared page). A line is cut at what the client can take
//! (the channel's shared page: [`Discipline::new`]), and the driver says how many bytes it
//! dropped. Lines live on the driver's heap, paid from its budget: a byte or a line the heap
//! has no room for is dropped and counted, never a panic, so a flood never grows the driver
//! past its budget.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

const READ: u64 = 1;
const WRITE: u64 = 2;
const BYE: u64 = 3;

/// A request to the serial driver.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The next line. Reply: `[has_line, len, dropped]`; its bytes in the shared page.
    Read,
    /// Send the first `len` bytes of the shared page. Reply: `[]`.
    Write { len: u64 },
    /// The client is done; the driver ends once every client said so.
    Bye,
}

impl Request {
    pub fn encode(&self) -> (u64, [u64; 4], usize) {
        match *self {
            Request::Read => (READ, [0; 4], 0),
            Request::Write { len } => (WRITE, [len, 0, 0, 0], 1),
            Request::Bye => (BYE, [0; 4], 0),
        }
    }

    pub fn decode(label: u64, words: &[u64]) -> Option<Request> {
        Some(match (label, words) {
            (READ, &[]) => Request::Read,
            (WRITE, &[len]) => Request::Write { len },
            (BYE, &[]) => Request::Bye,
            _ => return None,
        })
    }
}

/// A finished line: its bytes (at most the discipline's `max`) and how many more it had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub bytes: Vec<u8>,
    pub dropped: u64,
}

/// Bytes from the UART becoming lines: `\n` or `\r` ends one (`\r\n` counts once), the bytes
/// past `max` (or past what the heap gives) are counted, not kept.
pub struct Discipline {
    current: Vec<u8>,
    max: usize,
    dropped: u64,
    last_cr: bool,
}

impl Discipline {
    /// Lines of at most `max` bytes.
    pub fn new(max: usize) -> Discipline {
        Discipline { current: Vec::new(), max, dropped: 0, last_cr: false }
    }

    /// Takes one byte; a line when it ends one.
    pub fn push(&mut self, b: u8) -> Option<Line> {
        let after_cr = core::mem::replace(&mut self.last_cr, b == b'\r');
        match b {
            b'\n' if after_cr => None,
            b'\n' | b'\r' => {
                let line = Line { bytes: core::mem::take(&mut self.current), dropped: self.dropped };
                self.dropped = 0;
                Some(line)
            }
            _ => {
                if self.current.len() < self.max && self.current.try_reserve(1).is_ok() {
                    self.current.push(b);
                } else {
                    self.dropped += 1;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(d: &mut Discipline, bytes: &[u8]) -> std::vec::Vec<Line> {
        bytes.iter().filter_map(|&b| d.push(b)).collect()
    }

    extern crate std;

    #[test]
    fn lines_end_at_newlines_and_crlf_counts_once() {
        let mut d = Discipline::new(4096);
        let lines = feed(&mut d, b"help\r\necho hi\nsleep 10\r");
        let texts: std::vec::Vec<&[u8]> = lines.iter().map(|l| &l.bytes[..]).collect();
        assert_eq!(texts, [&b"help"[..], b"echo hi", b"sleep 10"]);
        assert!(feed(&mut d, b"\n").is_empty(), "the \\n after \\r ends nothing");
        assert_eq!(feed(&mut d, b"\n")[0].bytes.len(), 0, "an empty line");
    }

    #[test]
    fn a_flood_is_cut_and_counted() {
        let mut d = Discipline::new(256);
        let flood = std::vec![b'x'; 100 * 1024];
        assert!(feed(&mut d, &flood).is_empty());
        let line = d.push(b'\n').unwrap();
        assert_eq!((line.bytes.len(), line.dropped), (256, 100 * 1024 - 256));
        let next = feed(&mut d, b"ok\n");
        assert_eq!((&next[0].bytes[..], next[0].dropped), (&b"ok"[..], 0));
    }

    #[test]
    fn requests_round_trip() {
        for r in [Request::Read, Request::Write { len: 5 }, Request::Bye] {
            let (l, w, n) = r.encode();
            assert_eq!(Request::decode(l, &w[..n]), Some(r));
        }
        assert_eq!(Request::decode(2, &[]), None);
    }
}
