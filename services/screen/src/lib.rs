//! screen: the protocol of the screen driver and its text grid, plain `no_std` Rust tested on
//! the host. A client puts a line in the channel's shared page and calls `Show`; the driver
//! writes it on the next row of the VGA text screen (80 by 25 cells of a character and an
//! attribute), scrolling when the screen is full.
#![no_std]

pub const COLUMNS: usize = 80;
pub const ROWS: usize = 25;
/// Light grey on black.
pub const ATTRIBUTE: u8 = 0x07;

const SHOW: u64 = 1;
const BYE: u64 = 2;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Show the first `len` bytes of the shared page as a line. Reply: `[row]`.
    Show { len: u64 },
    /// The client is done; the driver ends.
    Bye,
}

impl Request {
    pub fn encode(&self) -> (u64, [u64; 4], usize) {
        match *self {
            Request::Show { len } => (SHOW, [len, 0, 0, 0], 1),
            Request::Bye => (BYE, [0; 4], 0),
        }
    }

    pub fn decode(label: u64, words: &[u64]) -> Option<Request> {
        Some(match (label, words) {
            (SHOW, &[len]) => Request::Show { len },
            (BYE, &[]) => Request::Bye,
            _ => return None,
        })
    }
}

/// The cell word of byte `b`: printable ASCII as it is, anything else as `?`.
pub fn cell(b: u8) -> u16 {
    let c = if (0x20..0x7f).contains(&b) { b } else { b'?' };
    (ATTRIBUTE as u16) << 8 | c as u16
}

/// Where the next line goes, and whether the screen must scroll up one row first.
pub fn next_row(row: usize) -> (usize, bool) {
    if row < ROWS {
        (row, false)
    } else {
        (ROWS - 1, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_rows() {
        assert_eq!(cell(b'A'), 0x0741);
        assert_eq!(cell(0x1b), 0x073f);
        assert_eq!(next_row(0), (0, false));
        assert_eq!(next_row(25), (24, true));
        for r in [Request::Show { len: 3 }, Request::Bye] {
            let (l, w, n) = r.encode();
            assert_eq!(Request::decode(l, &w[..n]), Some(r));
        }
    }
}
