//! Time spent in kernel invocations (feature `invocation-clock`): every invocation adds its TSC
//! cycles, from the `seL4_Call` to the reply, and one to a count, so a caller can split the time
//! of its own work into the kernel's part and the rest. Without the feature nothing is measured
//! and the totals stay zero.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::tsc::rdtsc;

static COUNT: AtomicU64 = AtomicU64::new(0);
static CYCLES: AtomicU64 = AtomicU64::new(0);

/// Kernel invocations made so far by this protection domain's threads, and their TSC cycles.
#[derive(Copy, Clone, Debug, Default, Eq, PartialEq)]
pub struct InvocationTime {
    pub count: u64,
    pub cycles: u64,
}

impl InvocationTime {
    /// The invocations between `earlier` and `self`.
    pub fn since(self, earlier: InvocationTime) -> InvocationTime {
        InvocationTime { count: self.count - earlier.count, cycles: self.cycles - earlier.cycles }
    }
}

/// The totals since the program started.
pub fn invocation_time() -> InvocationTime {
    InvocationTime { count: COUNT.load(Relaxed), cycles: CYCLES.load(Relaxed) }
}

/// Runs one invocation `f`, counting it and its cycles when the feature is on.
#[inline(always)]
pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> T {
    if !cfg!(feature = "invocation-clock") {
        return f();
    }
    let t0 = rdtsc();
    let r = f();
    CYCLES.fetch_add(rdtsc() - t0, Relaxed);
    COUNT.fetch_add(1, Relaxed);
    r
}
