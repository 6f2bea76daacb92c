//! What serving a child cost core, per request kind: counts, cycles, kernel invocations and
//! allocator cycles, printed when the child is gone.

use core::fmt::Write;

use sel4_core_protocol::Label;
use sel4_root_task::println;

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
    pub fn add(&mut self, label: Label, cycles: u64, kernel: sel4::InvocationTime, allocator: u64) {
        if let Some(i) = Label::ALL.iter().position(|l| *l == label) {
            self.count[i] += 1;
            self.cycles[i] += cycles;
            self.invocations[i] += kernel.count;
            self.kernel[i] += kernel.cycles;
            self.allocator[i] += allocator;
        }
    }

    /// `child <name>: core's work per request: <Label> <n> x <cycles> cycles (kernel <cycles> in
    /// <invocations> invocations; allocator <cycles>), ...`, all per request.
    pub fn print(&self, name: &str) {
        if self.count.iter().all(|&n| n == 0) {
            return;
        }
        let mut line: heapless::String<1024> = heapless::String::new();
        for (i, label) in Label::ALL.iter().enumerate().filter(|(i, _)| self.count[*i] > 0) {
            let n = self.count[i];
            let hundredths = self.invocations[i] * 100 / n;
            let _ = write!(
                line,
                " {label:?} {n} x {} cycles (kernel {} in {}.{:02} invocations; allocator {}),",
                self.cycles[i] / n,
                self.kernel[i] / n,
                hundredths / 100,
                hundredths % 100,
                self.allocator[i] / n
            );
        }
        println!("child {name}: core's work per request:{}", line.trim_end_matches(','));
    }
}
