//! The traces and untyped layouts shipped with the lab (`core/lab/traces/`), regenerated
//! exactly by `cargo run -p run -- trace gen` (the generator's tests compare them).

/// The untypeds seL4 5.0 hands a root task under QEMU with 512 MiB, captured at boot: the
/// default layout of trace replay.
pub const QEMU_512M_UNTYPEDS: &str = include_str!("../traces/qemu-512m.untypeds");
/// One 8 KiB untyped at 0x0, the layout of the seed trace.
pub const SEED_UNTYPEDS: &str = include_str!("../traces/seed.untypeds");
/// The 8 KiB gap case.
pub const SEED: &str = include_str!("../traces/seed.trace");
/// 4,000 operations over mixed types (`trace gen churn --ops 4000 --seed 1`).
pub const CHURN: &str = include_str!("../traces/churn.trace");
/// The churn with a quarter of the allocations at a given address (`--addr-percent 25`).
pub const CHURN_AT: &str = include_str!("../traces/churn-at.trace");
/// Allocate until RAM runs out (`trace gen fill --seed 1`).
pub const FILL: &str = include_str!("../traces/fill.trace");
/// Interleaved sizes, every other freed, then large blocks (`trace gen adversary --seed 1`).
pub const ADVERSARY: &str = include_str!("../traces/adversary.trace");

/// Every shipped trace with its name and layout.
pub const TRACES: [(&str, &str, &str); 5] = [
    ("seed", SEED, SEED_UNTYPEDS),
    ("churn", CHURN, QEMU_512M_UNTYPEDS),
    ("churn-at", CHURN_AT, QEMU_512M_UNTYPEDS),
    ("fill", FILL, QEMU_512M_UNTYPEDS),
    ("adversary", ADVERSARY, QEMU_512M_UNTYPEDS),
];
