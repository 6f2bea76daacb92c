//! Placement benchmark: every strategy (core's own and the baselines) replays
//! the shipped traces and a generated 10^5-operation churn against a fresh
//! kernel model of the QEMU 512 MiB untyped layout (the seed trace on its
//! 8 KiB untyped). Criterion times the trace operations only (kernel-model
//! and strategy setup, the final free-all and check are excluded), with the
//! trace's operation count as throughput, so ns/op = 1 / throughput. Kernel
//! invocations per operation are deterministic and printed once per pair.
//!
//! Run: `cargo bench -p sel4-core --features std --bench placement`

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use sel4_core::kernel::{BootUntyped, Slot};
use sel4_core::replay::host::{self, Options};
use sel4_core::trace::{gen, untypeds};

const STRATEGIES: [&str; 4] = ["ours", "freeindex", "buddy", "genode"];
const OPTS: Options = Options { object_slots: 1 << 16 };

/// The layout as `run trace replay` uses it: every untyped a real boot can
/// hand out, including device untypeds aligned only by kernel address.
fn layout(text: &str) -> Vec<BootUntyped> {
    untypeds::parse(text)
        .map(|r| r.expect("shipped layout parses"))
        .filter(|d| d.kernel_aligned())
        .enumerate()
        .map(|(i, d)| BootUntyped { slot: Slot(12 + i as u32), paddr: d.paddr, size_bits: d.size_bits, is_device: d.is_device })
        .collect()
}

fn main() {
    let qemu = layout(include_str!("../../run/traces/qemu-512m.untypeds"));
    let seed_layout = layout(include_str!("../../run/traces/seed.untypeds"));
    let mut churn_1e5 = String::new();
    let mut live = vec![0u64; 4096];
    gen::churn(&mut churn_1e5, 100_000, 1, 500, &mut live).expect("generate churn");
    let traces: [(&str, &str, &[BootUntyped]); 6] = [
        ("seed", include_str!("../../run/traces/seed.trace"), &seed_layout),
        ("churn", include_str!("../../run/traces/churn.trace"), &qemu),
        ("churn-at", include_str!("../../run/traces/churn-at.trace"), &qemu),
        ("fill", include_str!("../../run/traces/fill.trace"), &qemu),
        ("adversary", include_str!("../../run/traces/adversary.trace"), &qemu),
        ("churn-1e5", &churn_1e5, &qemu),
    ];

    println!("kernel invocations per operation (deterministic, 1 run each; retypes/deletes/revokes):");
    for (name, text, boot) in &traces {
        for s in STRATEGIES {
            let r = host::replay(s, text, boot, OPTS).expect("replay");
            let c = r.stats.invocations;
            println!(
                "  {name:<10} {s:<9} {:.3} /op  ({}/{}/{} over {} ops; refused {}, failed {})",
                r.stats.invocations_per_op(),
                c.retypes,
                c.deletes,
                c.revokes,
                r.stats.ops,
                r.stats.refused,
                r.stats.failed
            );
        }
    }

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    for (name, text, boot) in &traces {
        let ops = host::check(text).expect("trace").ops;
        let mut g = c.benchmark_group(format!("replay/{name}"));
        g.throughput(Throughput::Elements(ops));
        for s in STRATEGIES {
            g.bench_with_input(BenchmarkId::from_parameter(s), &s, |b, s| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| Duration::from_nanos(host::replay(s, text, boot, OPTS).expect("replay").stats.elapsed))
                        .sum()
                })
            });
        }
        g.finish();
    }
    c.final_summary();
}
