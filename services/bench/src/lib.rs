//! Measuring core as its clients see it: the time-stamp counter and the lines the run tool reads
//! (`bench: <what> <cycles> cycles per <unit>`, `run/src/bench.rs`).
#![no_std]

/// The time-stamp counter (user mode may read it: the kernel leaves CR4.TSD clear).
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no memory effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Round trips per measurement, after as many to warm up.
pub const ROUNDS: u64 = 2000;
