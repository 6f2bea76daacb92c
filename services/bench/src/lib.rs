//! Measuring core as its clients see it: the time-stamp counter and the lines the run tool reads
//! (`bench: <what> <cycles> cycles per <unit>`, `run/src/bench.rs`).
#![no_std]

pub use sel4::rdtsc;

/// Round trips per measurement, after as many to warm up.
pub const ROUNDS: u64 = 2000;
