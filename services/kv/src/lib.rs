//! kv: the protocol of the example system's key-value server, one request per call on a call
//! channel (`sel4_runtime::channel`), values in the channel's shared dataspace. Every reply
//! starts with the server's generation (how often core restarted it), so a client sees a fresh
//! server, which has lost every key, even when its call was served by the new instance rather
//! than answered with `Restarted`. Plain `no_std` Rust, tested on the host.
#![no_std]

#[cfg(feature = "service")]
extern crate alloc;

/// The client program (`kv-client`, `kv-client-steady`).
#[cfg(feature = "service")]
pub mod client;

/// Labels of the requests.
const PUT: u64 = 1;
const GET: u64 = 2;
const DELETE: u64 = 3;
const CRASH: u64 = 4;
const BYE: u64 = 5;
const SIGNALS: u64 = 6;

/// A request to the server.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Store the first `len` bytes of the shared dataspace under `key`. Reply:
    /// `[generation, replaced]`.
    Put { key: u64, len: u64 },
    /// The value of `key`, copied into the shared dataspace. Reply: `[generation, found, len]`.
    Get { key: u64 },
    /// Forget `key`. Reply: `[generation, found]`.
    Delete { key: u64 },
    /// Take a fault, if the server is still at `generation` (else [`Refusal::Stale`]): how
    /// the example restarts its server mid-run.
    Crash { generation: u64 },
    /// The client is done. Reply: `[generation]`; the server ends once every client said so.
    Bye,
    /// How often the server was signalled on this channel. Reply: `[generation, signals]`.
    Signals,
}

/// The server's own error codes (`ChannelError::Refused`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Refusal {
    /// A value longer than the shared dataspace.
    TooLong = 1,
    /// A crash asked of a generation the server is past.
    Stale = 2,
}

impl Request {
    /// Label, words and their count.
    pub fn encode(&self) -> (u64, [u64; 4], usize) {
        match *self {
            Request::Put { key, len } => (PUT, [key, len, 0, 0], 2),
            Request::Get { key } => (GET, [key, 0, 0, 0], 1),
            Request::Delete { key } => (DELETE, [key, 0, 0, 0], 1),
            Request::Crash { generation } => (CRASH, [generation, 0, 0, 0], 1),
            Request::Bye => (BYE, [0; 4], 0),
            Request::Signals => (SIGNALS, [0; 4], 0),
        }
    }

    /// The request `label` and `words` are, if they are one: a known label with exactly its
    /// number of words.
    pub fn decode(label: u64, words: &[u64]) -> Option<Request> {
        Some(match (label, words) {
            (PUT, &[key, len]) => Request::Put { key, len },
            (GET, &[key]) => Request::Get { key },
            (DELETE, &[key]) => Request::Delete { key },
            (CRASH, &[generation]) => Request::Crash { generation },
            (BYE, &[]) => Request::Bye,
            (SIGNALS, &[]) => Request::Signals,
            _ => return None,
        })
    }
}

/// The value a client stores under `key` in round `round`: up to `max` bytes, its length and
/// bytes drawn from the key, so that any client can check what it reads back.
pub fn value(key: u64, round: u64, max: usize, out: &mut [u8]) -> usize {
    let mut x = key.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ round.wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = (next() as usize % (max + 1)).min(out.len());
    for b in &mut out[..len] {
        *b = next() as u8;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_garbage_is_none() {
        for r in [
            Request::Put { key: 7, len: 4096 },
            Request::Get { key: u64::MAX },
            Request::Delete { key: 0 },
            Request::Crash { generation: 2 },
            Request::Bye,
            Request::Signals,
        ] {
            let (label, w, n) = r.encode();
            assert_eq!(Request::decode(label, &w[..n]), Some(r));
            assert_eq!(Request::decode(label, &[0; 5][..n + 1]), None, "one word too many");
        }
        assert_eq!(Request::decode(0, &[]), None);
        assert_eq!(Request::decode(99, &[1]), None);
        assert_eq!(Request::decode(PUT, &[1]), None);
    }

    #[test]
    fn values_are_reproducible_and_bounded() {
        let (mut a, mut b) = ([0u8; 4096], [0u8; 4096]);
        let mut lengths = 0;
        for key in 0..500 {
            let n = value(key, 0, 4096, &mut a);
            assert_eq!(value(key, 0, 4096, &mut b), n);
            assert_eq!(a[..n], b[..n]);
            lengths += n;
            assert!(value(key, 0, 100, &mut b) <= 100);
        }
        assert!(lengths > 500 * 1000, "lengths spread up to a page");
        let n = value(3, 1, 4096, &mut b);
        assert!(n != value(3, 0, 4096, &mut a) || a[..n] != b[..n], "another round, another value");
    }
}
