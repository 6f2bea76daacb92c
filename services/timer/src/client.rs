//! The timer's clients' side (`sleeper`, `ack-check`, the shell): a call, and a sleep that
//! outlives a restart of the driver.

use sel4_runtime::channel::{self, Channel, ChannelError, Message};

use crate::Request;

/// Calls the timer with `r`; the reply's first two words.
pub fn call(t: &Channel, r: Request) -> Result<[u64; 2], ChannelError> {
    let (l, w, n) = r.encode();
    t.call(&Message::short(l, w, n)).map(|m| [m.word(0), m.word(1)])
}

/// Sleeps `ms` through the timer: the milliseconds that passed by its clock. A sleep the
/// driver's restart cut short (the new instance signals every client, and its clock starts
/// again) starts over.
pub fn sleep(t: &Channel, ms: u64) -> Result<u64, ChannelError> {
    'again: loop {
        let [start, g0] = call(t, Request::Now)?;
        let [deadline, _] = call(t, Request::Sleep { ms })?;
        loop {
            while channel::wait() & (1 << t.id()) == 0 {}
            let [now, g1] = call(t, Request::Now)?;
            if g1 != g0 {
                continue 'again;
            }
            // A signal from before (a restarted driver wakes everyone) is no deadline.
            if now >= deadline {
                return Ok(now.wrapping_sub(start));
            }
        }
    }
}
