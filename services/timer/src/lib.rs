//! timer: the protocol of the timer driver, one request per call on a call channel
//! (`sel4_runtime::channel`). A sleep does not hold the call: the driver answers at once and
//! signals the client's channel when the time is up, so it serves any number of sleepers with
//! one thread. Plain `no_std` Rust, tested on the host.
#![no_std]

/// The clients' side: a call, and a sleep.
#[cfg(feature = "service")]
pub mod client;

const NOW: u64 = 1;
const SLEEP: u64 = 2;
const CRASH: u64 = 3;
const BYE: u64 = 4;
const CRASH_IN_IRQ: u64 = 5;
const STOP_ACKING: u64 = 6;

/// The PIT's input clock (Hz).
pub const PIT_HZ: u64 = 1_193_182;
/// The tick the driver programs: one interrupt per millisecond.
pub const TICK_HZ: u64 = 1000;

/// A request to the timer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Milliseconds since the driver started (its ticks). Reply: `[ms, generation]`.
    Now,
    /// Signal this channel once `ms` milliseconds have passed. Reply: `[deadline]` (in the
    /// driver's milliseconds).
    Sleep { ms: u64 },
    /// Take a fault (how the scenarios restart the driver).
    Crash,
    /// The client is done; the driver ends once every client said so.
    Bye,
    /// Take a fault in the interrupt handler at the next tick, before acking it.
    CrashInIrq,
    /// Stop acking interrupts but go on serving: a driver hung in its interrupt handler, as
    /// core's watchdog sees it.
    StopAcking,
}

impl Request {
    pub fn encode(&self) -> (u64, [u64; 4], usize) {
        match *self {
            Request::Now => (NOW, [0; 4], 0),
            Request::Sleep { ms } => (SLEEP, [ms, 0, 0, 0], 1),
            Request::Crash => (CRASH, [0; 4], 0),
            Request::Bye => (BYE, [0; 4], 0),
            Request::CrashInIrq => (CRASH_IN_IRQ, [0; 4], 0),
            Request::StopAcking => (STOP_ACKING, [0; 4], 0),
        }
    }

    pub fn decode(label: u64, words: &[u64]) -> Option<Request> {
        Some(match (label, words) {
            (NOW, &[]) => Request::Now,
            (SLEEP, &[ms]) => Request::Sleep { ms },
            (CRASH, &[]) => Request::Crash,
            (BYE, &[]) => Request::Bye,
            (CRASH_IN_IRQ, &[]) => Request::CrashInIrq,
            (STOP_ACKING, &[]) => Request::StopAcking,
            _ => return None,
        })
    }
}

/// The PIT's divisor for `hz` interrupts per second (channel 0, mode 2): at least 1, at most
/// the counter's 16 bits (0 means 65536 to the chip).
pub fn divisor(hz: u64) -> u16 {
    (PIT_HZ / hz.max(1)).clamp(1, 65535) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::Now,
            Request::Sleep { ms: 10 },
            Request::Crash,
            Request::Bye,
            Request::CrashInIrq,
            Request::StopAcking,
        ] {
            let (l, w, n) = r.encode();
            assert_eq!(Request::decode(l, &w[..n]), Some(r));
        }
        assert_eq!(Request::decode(2, &[]), None);
        assert_eq!(Request::decode(9, &[]), None);
    }

    #[test]
    fn divisors() {
        assert_eq!(divisor(1000), 1193);
        assert_eq!(divisor(1), 65535);
        assert_eq!(divisor(0), 65535);
        assert_eq!(divisor(10_000_000), 1);
    }
}
