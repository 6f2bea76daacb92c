//! What serving a child cost core, per request kind: counts, cycles, kernel invocations and
//! allocator cycles, printed when the child is gone. Only with feature `work-clock`: measuring
//! reads the TSC around every request, kernel invocation and allocator call, which costs
//! instructions on the very path it measures, so the product leaves it out (every call here is
//! then a no-op the compiler removes).

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sel4_core_protocol::Label;
use sel4_root_task::{print, println};

/// Whether core measures its work (feature `work-clock`).
pub const ON: bool = cfg!(feature = "work-clock");

/// TSC cycles core spent in its physical allocator for children's sessions (range allocator,
/// untyped pool, cap space), without the kernel invocations the allocator made.
static ALLOCATOR_CYCLES: AtomicU64 = AtomicU64::new(0);

/// Runs one call into the physical allocator, adding its cycles without the kernel's.
#[inline(always)]
pub fn in_allocator<T>(f: impl FnOnce() -> T) -> T {
    if !ON {
        return f();
    }
    let (t0, k0) = (sel4::rdtsc(), sel4::invocation_time());
    let r = f();
    let kernel = sel4::invocation_time().since(k0).cycles;
    ALLOCATOR_CYCLES.fetch_add((sel4::rdtsc() - t0).saturating_sub(kernel), Relaxed);
    r
}

/// The clocks at the start of a request.
#[derive(Clone, Copy, Default)]
pub struct Stamp {
    tsc: u64,
    kernel: sel4::InvocationTime,
    allocator: u64,
}

impl Stamp {
    #[inline(always)]
    pub fn now() -> Stamp {
        if !ON {
            return Stamp::default();
        }
        Stamp { tsc: sel4::rdtsc(), kernel: sel4::invocation_time(), allocator: ALLOCATOR_CYCLES.load(Relaxed) }
    }
}

/// Session requests core served for a child, per label: how many, the TSC cycles core spent on
/// them from the decoded request to the answer (its own work, without the IPC), the kernel
/// invocations it made for them with their cycles (`sel4::invocation_time`), and the cycles in
/// its physical allocator without those (`child_pd::allocator_cycles`).
#[derive(Default)]
pub struct Work {
    count: [u64; Label::ALL.len()],
    cycles: [u64; Label::ALL.len()],
    invocations: [u64; Label::ALL.len()],
    kernel: [u64; Label::ALL.len()],
    allocator: [u64; Label::ALL.len()],
}

impl Work {
    /// Counts a request of `label` that began at `start` and ends now.
    #[inline(always)]
    pub fn add(&mut self, label: Label, start: Stamp) {
        if !ON {
            return;
        }
        let end = Stamp::now();
        let kernel = end.kernel.since(start.kernel);
        if let Some(i) = Label::ALL.iter().position(|l| *l == label) {
            self.count[i] += 1;
            self.cycles[i] += end.tsc - start.tsc;
            self.invocations[i] += kernel.count;
            self.kernel[i] += kernel.cycles;
            self.allocator[i] += end.allocator - start.allocator;
        }
    }

    /// `child <name>: core's work per request: <Label> <n> x <cycles> cycles (kernel <cycles> in
    /// <invocations> invocations; allocator <cycles>), ...`, all per request.
    pub fn print(&self, name: &str) {
        if self.count.iter().all(|&n| n == 0) {
            return;
        }
        // Printed piece by piece: a line of every kind is longer than any buffer worth keeping.
        print!("child {name}: core's work per request:");
        let mut first = true;
        for (i, label) in Label::ALL.iter().enumerate().filter(|(i, _)| self.count[*i] > 0) {
            let n = self.count[i];
            let hundredths = self.invocations[i] * 100 / n;
            print!(
                "{} {label:?} {n} x {} cycles (kernel {} in {}.{:02} invocations; allocator {})",
                if first { "" } else { "," },
                self.cycles[i] / n,
                self.kernel[i] / n,
                hundredths / 100,
                hundredths % 100,
                self.allocator[i] / n
            );
            first = false;
        }
        println!();
    }
}
