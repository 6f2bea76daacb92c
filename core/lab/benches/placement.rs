//! Placement benchmark: every strategy (core's own and the baselines) replays
//! the shipped traces and a generated 10^5-operation churn against a fresh
//! kernel model of the QEMU 512 MiB untyped layout (the seed trace on its
//! 8 KiB untyped). Criterion times the trace operations only (kernel-model
//! and strategy setup, the final free-all and check are excluded), with the
//! trace's operation count as throughput. Kernel invocations per operation
//! are deterministic and printed once per pair. At the end a table gives,
//! per trace and strategy, the median ns/op over every replay criterion
//! timed, the spread (min..max), invocations/op and how many replays and
//! criterion batches that was.
//!
//! Run: `cargo bench -p sel4-core --features std --bench placement`

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use sel4_core::kernel::{Slot, UntypedDesc};
use sel4_core_lab::replay::host::{self, Options};
use sel4_core_lab::trace::{gen, untypeds};

const STRATEGIES: [&str; 4] = ["ours", "freeindex", "buddy", "genode"];
const OPTS: Options = Options { object_slots: 1 << 16 };
const SAMPLES: usize = 10;
const WARM_UP: Duration = Duration::from_millis(300);
const MEASUREMENT: Duration = Duration::from_secs(1);

/// What one (trace, strategy) pair measured.
struct Row {
    trace: &'static str,
    strategy: &'static str,
    ops: u64,
    invocations_per_op: f64,
    /// ns/op of each timed replay (warm-up and samples alike).
    ns_per_op: Vec<f64>,
    /// `iter_custom` calls criterion made (warm-up batches plus samples).
    batches: usize,
}

fn summary(rows: &[Row]) {
    println!();
    println!(
        "placement summary: ns/op = median over every timed replay (criterion: {SAMPLES} samples, \
         {} ms warm-up, {} s measurement per pair unless overridden on the command line); \
         invocations/op = kernel invocations (retype, delete, revoke) per trace operation",
        WARM_UP.as_millis(),
        MEASUREMENT.as_secs()
    );
    println!(
        "  {:<10} {:<9} {:>7} {:>10} {:>21} {:>8} {:>8} {:>8}",
        "trace", "strategy", "ops", "ns/op", "min..max ns/op", "inv/op", "replays", "batches"
    );
    let mut untimed = 0;
    for r in rows {
        let mut ns = r.ns_per_op.clone();
        ns.sort_by(f64::total_cmp);
        let (Some(lo), Some(hi)) = (ns.first(), ns.last()) else {
            untimed += 1;
            continue;
        };
        println!(
            "  {:<10} {:<9} {:>7} {:>10.1} {:>21} {:>8.3} {:>8} {:>8}",
            r.trace,
            r.strategy,
            r.ops,
            ns[ns.len() / 2],
            format!("{lo:.1}..{hi:.1}"),
            r.invocations_per_op,
            ns.len(),
            r.batches
        );
    }
    if untimed > 0 {
        println!("  ({untimed} pairs not timed: filtered out on the command line)");
    }
}

/// The layout as `run trace replay` uses it: every untyped a real boot can
/// hand out, including device untypeds aligned only by kernel address.
fn layout(text: &str) -> Vec<UntypedDesc> {
    untypeds::parse(text)
        .map(|r| r.expect("shipped layout parses"))
        .filter(|d| d.kernel_aligned())
        .enumerate()
        .map(|(i, d)| UntypedDesc {
            slot: Slot(12 + i as u32),
            paddr: d.paddr,
            size_bits: d.size_bits,
            is_device: d.is_device,
        })
        .collect()
}

fn main() {
    let qemu = layout(sel4_core_lab::shipped::QEMU_512M_UNTYPEDS);
    let seed_layout = layout(sel4_core_lab::shipped::SEED_UNTYPEDS);
    let mut churn_1e5 = String::new();
    let mut live = vec![0u64; 4096];
    gen::churn(&mut churn_1e5, 100_000, 1, 500, &mut live).expect("generate churn");
    let traces: [(&'static str, &str, &[UntypedDesc]); 6] = [
        ("seed", sel4_core_lab::shipped::SEED, &seed_layout),
        ("churn", sel4_core_lab::shipped::CHURN, &qemu),
        ("churn-at", sel4_core_lab::shipped::CHURN_AT, &qemu),
        ("fill", sel4_core_lab::shipped::FILL, &qemu),
        ("adversary", sel4_core_lab::shipped::ADVERSARY, &qemu),
        ("churn-1e5", &churn_1e5, &qemu),
    ];

    println!("kernel invocations per operation (deterministic, 1 run each; retypes/deletes/revokes):");
    let mut rows = Vec::new();
    for (name, text, boot) in &traces {
        for s in STRATEGIES {
            let r = host::replay(s, text, boot, OPTS).expect("replay");
            rows.push(Row {
                trace: name,
                strategy: s,
                ops: r.stats.ops,
                invocations_per_op: r.stats.invocations_per_op(),
                ns_per_op: Vec::new(),
                batches: 0,
            });
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
        .sample_size(SAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        .configure_from_args();
    let mut row = rows.iter_mut();
    for (name, text, boot) in &traces {
        let ops = host::check(text).expect("trace").ops;
        let mut g = c.benchmark_group(format!("replay/{name}"));
        g.throughput(Throughput::Elements(ops));
        for s in STRATEGIES {
            let r = row.next().expect("one row per pair");
            g.bench_with_input(BenchmarkId::from_parameter(s), &s, |b, s| {
                b.iter_custom(|iters| {
                    r.batches += 1;
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let ns = host::replay(s, text, boot, OPTS).expect("replay").stats.elapsed;
                        r.ns_per_op.push(ns as f64 / ops.max(1) as f64);
                        total += Duration::from_nanos(ns);
                    }
                    total
                })
            });
        }
        g.finish();
    }
    c.final_summary();
    summary(&rows);
}
