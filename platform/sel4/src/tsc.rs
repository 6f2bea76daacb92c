//! The time-stamp counter, the clock every cycle figure of a root task or service is read from.

/// TSC cycles since reset (at the rate bootinfo's `tsc_mhz` gives).
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no memory effects; user mode may execute it (the kernel leaves CR4.TSD
    // clear).
    unsafe { core::arch::x86_64::_rdtsc() }
}
