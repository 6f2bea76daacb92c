//! Measuring core as its clients see it: the time-stamp counter and the lines the run tool reads
//! (`bench: <what> <cycles> cycles per <unit>`, `run/src/bench.rs`).
#![no_std]

pub use sel4::rdtsc;

/// Round trips per measurement, after as many to warm up.
pub const ROUNDS: u64 = 2000;

/// A log line of 80 bytes with its newline, and the lines of each log benchmark (after as many
/// to warm up; core prints each).
pub const LOG_LINE: &str = "log line: 80 bytes with its newline, printed by core for the session benchmark.";
pub const LOG_ROUNDS: u64 = 50;
const _: () = assert!(LOG_LINE.len() == 79);

/// The dataspace sizes `size-bench` allocates, maps and frees, with the rounds each is
/// timed for (after as many to warm up); `core-session-bench` measures the kernel floor of
/// each.
pub const SIZES: [(&str, u64, u64); 4] =
    [("4K", 4 << 10, 200), ("1M", 1 << 20, 40), ("3M", 3 << 20, 20), ("64M", 64 << 20, 4)];

/// Cycles per call of `op` over `rounds` calls, after as many to warm up.
pub fn time<E>(rounds: u64, mut op: impl FnMut() -> Result<(), E>) -> Result<u64, E> {
    for _ in 0..rounds {
        op()?;
    }
    let t0 = rdtsc();
    for _ in 0..rounds {
        op()?;
    }
    Ok((rdtsc() - t0) / rounds)
}
