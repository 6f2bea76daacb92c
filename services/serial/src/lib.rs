//! serial: the protocol of the serial driver and the line discipline it keeps, plain `no_std`
//! Rust tested on the host. A client calls `Read` (the next whole line, copied into the
//! channel's shared page, or none yet: the driver then signals the channel when one comes) and
//! `Write` (bytes the client put in the shared page). A line longer than [`MAX_LINE`] is cut,
//! and the driver says how many bytes it dropped, so a flood never grows its memory.
#![no_std]

/// Bytes of a line the driver keeps; the rest of a longer one is counted and dropped.
pub const MAX_LINE: usize = 256;
/// Lines the driver holds for a client that does not read; more are dropped and counted.
pub const MAX_QUEUED: usize = 64;

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

/// A finished line: its bytes (at most [`MAX_LINE`]) and how many more it had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub bytes: heapless::Vec<u8, MAX_LINE>,
    pub dropped: u64,
}

/// Bytes from the UART becoming lines: `\n` or `\r` ends one (`\r\n` counts once), the bytes
/// past [`MAX_LINE`] are counted, not kept.
#[derive(Default)]
pub struct Discipline {
    current: heapless::Vec<u8, MAX_LINE>,
    dropped: u64,
    last_cr: bool,
}

impl Discipline {
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
                if self.current.push(b).is_err() {
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
        let mut d = Discipline::default();
        let lines = feed(&mut d, b"help\r\necho hi\nsleep 10\r");
        let texts: std::vec::Vec<&[u8]> = lines.iter().map(|l| &l.bytes[..]).collect();
        assert_eq!(texts, [&b"help"[..], b"echo hi", b"sleep 10"]);
        assert!(feed(&mut d, b"\n").is_empty(), "the \\n after \\r ends nothing");
        assert_eq!(feed(&mut d, b"\n")[0].bytes.len(), 0, "an empty line");
    }

    #[test]
    fn a_flood_is_cut_and_counted() {
        let mut d = Discipline::default();
        let flood = std::vec![b'x'; 100 * 1024];
        assert!(feed(&mut d, &flood).is_empty());
        let line = d.push(b'\n').unwrap();
        assert_eq!((line.bytes.len(), line.dropped), (MAX_LINE, 100 * 1024 - MAX_LINE as u64));
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
