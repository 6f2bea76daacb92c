//! `trace replay`: run a trace against a fresh kernel model per strategy and
//! print the results side by side (or as JSON lines).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use sel4_core::kernel::UntypedDesc;
use sel4_core_lab::replay::host::{self, Options, Report};
use sel4_core_lab::replay::IdealStats;
use serde_json::json;

use crate::picture;
use crate::untypeds;

/// Largest `--object-slots`: 4 Mi slots keep the per-strategy tables at a
/// few hundred MiB.
pub const MAX_OBJECT_SLOTS: i64 = 1 << 22;
/// Largest `--runs`.
pub const MAX_RUNS: i64 = 1000;

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Trace file.
    pub file: PathBuf,
    /// Untyped layout (`<paddr> <size_bits> [device]` per line); default:
    /// the list seL4 hands a root task under QEMU with 512 MiB.
    #[arg(long)]
    pub untypeds: Option<PathBuf>,
    /// Strategy to run, or `all` for ours and every baseline.
    #[arg(long, default_value = "ours")]
    pub strategy: String,
    /// One JSON object per strategy per line.
    #[arg(long)]
    pub json: bool,
    /// CSpace slots for objects and split untypeds (each strategy's tables
    /// are sized by it, hence the limit).
    #[arg(long, default_value_t = Options::default().object_slots,
          value_parser = clap::value_parser!(u32).range(1..=MAX_OBJECT_SLOTS))]
    pub object_slots: u32,
    /// Replays per strategy; ns/op is the median (every other figure is
    /// deterministic and taken from the first run).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_RUNS))]
    pub runs: u32,
    /// Also draw core's memory map at the end of the trace (strategy
    /// `ours`, before anything is freed) as SVG into this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// Every strategy `--strategy all` runs, in column order.
pub fn all_strategies() -> Vec<&'static str> {
    let mut v = vec!["ours"];
    v.extend(host::BASELINES);
    v
}

/// Untypeds for the model. A real boot hands out device untypeds above the
/// 512 GiB kernel window that are aligned only by their kernel virtual
/// address (`src/kernel/boot.c:create_untypeds_for_region`); the model and
/// every strategy take those as they are. Only an untyped the kernel could
/// never have produced is left out, and counted so the caller can say so.
pub fn model_untypeds(descs: &[untypeds::UntypedDesc]) -> (Vec<UntypedDesc>, usize) {
    let valid: Vec<_> = descs.iter().copied().filter(|d| d.kernel_aligned()).collect();
    let dropped = descs.len() - valid.len();
    (valid, dropped)
}

/// [`model_untypeds`], saying on stderr (also under `--json`, whose stdout
/// is data) how many were left out; a layout with none left is an error.
pub fn usable_untypeds(descs: &[untypeds::UntypedDesc]) -> Result<Vec<UntypedDesc>> {
    let (boot, dropped) = model_untypeds(descs);
    if dropped > 0 {
        eprintln!("note: {dropped} untypeds are not aligned the way the kernel cuts them and are left out");
    }
    if boot.is_empty() {
        bail!("untyped layout: no usable untyped ({} in the file, {dropped} left out)", descs.len());
    }
    Ok(boot)
}

/// Replay `text` with each of `strategies`; also runs the ideal allocator.
pub fn replay_all(
    text: &str,
    boot: &[UntypedDesc],
    strategies: &[&str],
    opts: Options,
    runs: u32,
) -> Result<(IdealStats, Vec<Report>)> {
    let summary = host::check(text).map_err(anyhow::Error::msg)?;
    let ideal = host::ideal(text, boot, &summary).map_err(anyhow::Error::msg)?;
    let mut out = Vec::new();
    for s in strategies {
        let one =
            || host::replay(s, text, boot, opts).map_err(anyhow::Error::msg).with_context(|| format!("strategy {s}"));
        let mut first = one()?;
        let mut ns = vec![first.ns_per_op];
        for _ in 1..runs {
            ns.push(one()?.ns_per_op);
        }
        ns.sort_by(f64::total_cmp);
        first.ns_per_op = ns[ns.len() / 2];
        out.push(first);
    }
    Ok((ideal, out))
}

/// The JSON object of one strategy: every figure of the table (snake_case
/// keys) plus the error counters, peak live bytes and setup retypes.
pub fn to_json(r: &Report, ideal: &IdealStats) -> serde_json::Value {
    let s = &r.stats;
    json!({
        "strategy": r.strategy,
        "ops": s.ops,
        "allocs": s.allocs,
        "frees": s.frees,
        "refused": s.refused,
        "failed": s.failed,
        "first_failure_op": s.first_failure_op,
        "live_bytes_at_first_failure": s.live_bytes_at_first_failure,
        "ideal_live_bytes_at_first_failure": ideal.live_bytes_at_first_failure,
        "retypes": s.invocations.retypes,
        "deletes": s.invocations.deletes,
        "revokes": s.invocations.revokes,
        "invocations_per_op": s.invocations_per_op(),
        "largest_block_after_free_all": r.after.largest_verified,
        "total_ram_bytes": r.total_ram_bytes,
        "ns_per_op": r.ns_per_op,
        "capacity_failures": s.capacity,
        "invalid": s.invalid,
        "placed_elsewhere": s.elsewhere,
        "skipped_frees": s.skipped_frees,
        "free_errors": s.free_errors + r.after.free_errors,
        "misplaced": s.misplaced + r.kernel_mismatches,
        "ideal_first_failure_op": ideal.first_failure_op,
        "peak_live_bytes": s.peak_live_bytes,
        "setup_retypes": r.setup.retypes,
    })
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| x.to_string())
}

/// Bytes in the largest binary unit that keeps the value at least 1.
fn bytes(v: Option<u64>) -> String {
    match v {
        None => "-".to_string(),
        Some(x) if x >= 1 << 20 => format!("{:.2} MiB", x as f64 / (1u64 << 20) as f64),
        Some(x) if x >= 1 << 10 => format!("{:.2} KiB", x as f64 / 1024.0),
        Some(x) => format!("{x} B"),
    }
}

fn size(v: u64) -> String {
    if v >= 1 << 20 {
        format!("{} MiB", v >> 20)
    } else {
        format!("{} KiB", v >> 10)
    }
}

/// The side-by-side table: one row per figure, one column per strategy.
pub fn table(ideal: &IdealStats, reports: &[Report]) -> String {
    type Row<'i> = (&'static str, Box<dyn Fn(&Report) -> String + 'i>);
    let rows: Vec<Row<'_>> = vec![
        ("operations", Box::new(|r| r.stats.ops.to_string())),
        ("allocs", Box::new(|r| r.stats.allocs.to_string())),
        ("frees", Box::new(|r| r.stats.frees.to_string())),
        ("refused (kernel)", Box::new(|r| r.stats.refused.to_string())),
        ("failed (no block)", Box::new(|r| r.stats.failed.to_string())),
        ("placed elsewhere", Box::new(|r| r.stats.elsewhere.to_string())),
        ("capacity", Box::new(|r| r.stats.capacity.to_string())),
        ("invalid (request)", Box::new(|r| r.stats.invalid.to_string())),
        ("first failure op", Box::new(|r| opt(r.stats.first_failure_op))),
        ("live at first failure", Box::new(|r| bytes(r.stats.live_bytes_at_first_failure))),
        ("  ideal allocator", Box::new(|_| bytes(ideal.live_bytes_at_first_failure))),
        ("retypes", Box::new(|r| r.stats.invocations.retypes.to_string())),
        ("deletes", Box::new(|r| r.stats.invocations.deletes.to_string())),
        ("revokes", Box::new(|r| r.stats.invocations.revokes.to_string())),
        ("invocations / op", Box::new(|r| format!("{:.3}", r.stats.invocations_per_op()))),
        ("largest after free-all", Box::new(|r| size(r.after.largest_verified))),
        ("total RAM", Box::new(|r| size(r.total_ram_bytes))),
        ("ns / op", Box::new(|r| format!("{:.0}", r.ns_per_op))),
    ];
    let mut out = String::new();
    let w0 = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let cells: Vec<Vec<String>> = rows.iter().map(|(_, f)| reports.iter().map(f).collect()).collect();
    let widths: Vec<usize> = (0..reports.len())
        .map(|i| cells.iter().map(|c| c[i].len()).chain([reports[i].strategy.len()]).max().unwrap_or(0))
        .collect();
    out.push_str(&format!("{:w0$}", ""));
    for (r, w) in reports.iter().zip(&widths) {
        out.push_str(&format!("  {:>w$}", r.strategy));
    }
    out.push('\n');
    for ((name, _), c) in rows.iter().zip(&cells) {
        out.push_str(&format!("{name:w0$}"));
        for (v, w) in c.iter().zip(&widths) {
            out.push_str(&format!("  {v:>w$}"));
        }
        out.push('\n');
    }
    out
}

pub fn run(args: &ReplayArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let layout_text = match &args.untypeds {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => untypeds::QEMU_512M.to_string(),
    };
    let descs = untypeds::parse(&layout_text).context("untyped layout")?;
    let boot = usable_untypeds(&descs)?;
    let all = all_strategies();
    let strategies: Vec<&str> = match args.strategy.as_str() {
        "all" => all.clone(),
        s => match all.iter().find(|n| **n == s) {
            Some(n) => vec![*n],
            None => bail!("unknown strategy `{s}` (one of {}, or all)", all.join(", ")),
        },
    };
    let (ideal, reports) =
        replay_all(&text, &boot, &strategies, Options { object_slots: args.object_slots }, args.runs)
            .with_context(|| format!("{}", args.file.display()))?;
    if args.json {
        for r in &reports {
            println!("{}", to_json(r, &ideal));
        }
    } else {
        println!("trace {} on {} untypeds, ns/op median of {} run(s)", args.file.display(), boot.len(), args.runs);
        print!("{}", table(&ideal, &reports));
    }
    if let Some(path) = &args.svg {
        let name = args.file.display().to_string();
        picture::write_trace_svg(&name, &text, &boot, Options { object_slots: args.object_slots }, path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 16] = [
        "strategy",
        "ops",
        "allocs",
        "frees",
        "refused",
        "failed",
        "first_failure_op",
        "live_bytes_at_first_failure",
        "ideal_live_bytes_at_first_failure",
        "retypes",
        "deletes",
        "revokes",
        "invocations_per_op",
        "largest_block_after_free_all",
        "total_ram_bytes",
        "ns_per_op",
    ];

    fn seed() -> (IdealStats, Vec<Report>) {
        let descs = untypeds::parse(sel4_core_lab::shipped::SEED_UNTYPEDS).unwrap();
        let (boot, _) = model_untypeds(&descs);
        let text = sel4_core_lab::shipped::SEED;
        replay_all(text, &boot, &all_strategies(), Options { object_slots: 256 }, 3).unwrap()
    }

    #[test]
    fn seed_trace_ours_places_everything_freeindex_refuses_the_last_cnode() {
        let (ideal, reports) = seed();
        assert_eq!(ideal.first_failure_op, None);
        let ours = reports.iter().find(|r| r.strategy == "ours").unwrap();
        assert_eq!((ours.stats.allocs, ours.stats.refused, ours.stats.failed), (4, 0, 0));
        assert_eq!(ours.after.largest_verified, 0x2000);
        let fi = reports.iter().find(|r| r.strategy == "freeindex").unwrap();
        assert_eq!((fi.stats.allocs, fi.stats.refused), (3, 1));
        assert_eq!(fi.stats.first_failure_op, Some(4));
    }

    #[test]
    fn size_arguments_out_of_range_are_cli_errors() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            replay: ReplayArgs,
        }
        let parse = |args: &[&str]| Cli::try_parse_from(["replay", "t.trace"].into_iter().chain(args.iter().copied()));
        for bad in
            [&["--object-slots", "4294967295"][..], &["--object-slots", "0"], &["--runs", "0"], &["--runs", "1001"]]
        {
            let e = parse(bad).err().unwrap_or_else(|| panic!("{bad:?} was accepted"));
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}: {e}");
        }
        let ok = parse(&["--object-slots", "4194304", "--runs", "1000"]).unwrap().replay;
        assert_eq!((ok.object_slots, ok.runs), (1 << 22, 1000));
    }

    #[test]
    fn a_layout_without_usable_untypeds_is_an_error() {
        // 2^40 at 2^40 is aligned physically but not by kernel address.
        let unusable = untypeds::parse("0x10000000000 40 device\n").unwrap();
        let e = usable_untypeds(&unusable).unwrap_err().to_string();
        assert_eq!(e, "untyped layout: no usable untyped (1 in the file, 1 left out)");
        assert!(usable_untypeds(&[]).is_err());
        let mixed = untypeds::parse("0x10000000000 40 device\n0x100000 20\n").unwrap();
        assert_eq!(usable_untypeds(&mixed).unwrap().len(), 1);
    }

    #[test]
    fn json_has_every_key() {
        let (ideal, reports) = seed();
        assert_eq!(reports.len(), 4);
        for r in &reports {
            let line = to_json(r, &ideal).to_string();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            for k in KEYS {
                assert!(v.get(k).is_some(), "{} lacks {k}: {line}", r.strategy);
            }
            assert_eq!(v["total_ram_bytes"], 0x2000);
        }
    }

    #[test]
    fn table_has_a_column_per_strategy() {
        let (ideal, reports) = seed();
        let t = table(&ideal, &reports);
        let header = t.lines().next().unwrap();
        for s in all_strategies() {
            assert!(header.contains(s), "{header}");
        }
        assert!(t.contains("refused (kernel)"));
    }
}
