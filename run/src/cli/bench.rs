//! `run bench`: every speed figure of core in one table (Markdown, as in the README): the
//! session benchmark, the range allocator benchmark beside its crates.io peers, metadata per
//! object, setup time at three RAM sizes and load time per KiB of ELF, each beside its floor
//! with its ratio, target and verdict and the command that measures it alone. It boots the
//! scenarios that print the figures (three times where the figure is TCG timing, giving the
//! median and the spread) and runs the range allocator benchmark; a missing figure or a failed
//! boot is an error, a missed target is a verdict.

use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;

use crate::bench as session_bench;
use crate::bench::table::{self, grouped, Figure};
use crate::runner::{self, Boot};
use crate::scenario::overrides::{self, Overrides};
use crate::workspace;

#[derive(Args, Debug)]
pub struct BenchArgs {}

/// Boots scenario `name` and returns its serial log; an error if the boot failed.
fn boot(name: &str) -> Result<String> {
    boot_with(name, false)
}

/// Boots scenario `name`, counting instructions if `icount` (QEMU `-icount shift=0`).
fn boot_with(name: &str, icount: bool) -> Result<String> {
    boot_featured(name, icount, &[])
}

/// Boots scenario `name` with more cargo `features` of its image.
fn boot_featured(name: &str, icount: bool, features: &[&str]) -> Result<String> {
    let o = Overrides { features: features.iter().map(|f| f.to_string()).collect(), ..Overrides::default() };
    let s = overrides::load(name, &o)?;
    let booted = runner::boot(&s, &Boot { icount, ..Boot::default() })?;
    if !booted.verdict.passed() {
        bail!("scenario `{name}` failed; its figures would mean nothing");
    }
    Ok(booted.outcome.log)
}

/// A channel call through the runtime against the raw IPC floor: core is not on that path.
const CHANNEL_CALL_TARGET: f64 = 1.05;

const RANGE_BENCH: &str = "cargo bench -p sel4-core --features std --bench range_allocator";

/// Runs `command` (a `cargo bench ...` line, as the table shows it), showing its output, and
/// returns its standard output.
fn cargo_bench(command: &str) -> Result<String> {
    eprintln!("run: bench: {command}");
    let out = Command::new(workspace::cargo())
        .current_dir(workspace::root())
        .args(command.split_whitespace().skip(1))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo bench")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}");
    if !out.status.success() {
        bail!("{command} failed ({})", out.status);
    }
    Ok(stdout)
}

const HEAP_BENCH: &str = "cargo bench -p sel4-runtime --bench heap";

/// Runs the service heap's allocator benchmark, showing its output, and returns its table rows:
/// (live blocks, the cells of talc, linked_list_allocator, buddy_system_allocator).
fn heap_allocators() -> Result<Vec<(String, Vec<String>)>> {
    let stdout = cargo_bench(HEAP_BENCH)?;
    let rows: Vec<(String, Vec<String>)> = stdout
        .lines()
        .filter_map(|l| {
            let cells: Vec<String> = l.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
            let n = cells.first()?;
            n.parse::<u64>().ok()?;
            Some((n.clone(), cells[1..].to_vec()))
        })
        .collect();
    if rows.is_empty() {
        bail!("{HEAP_BENCH} printed no table");
    }
    Ok(rows)
}

/// Operations the range allocator runs under callgrind per subject and size (the benchmark's
/// fixed-count mode, `RANGE_ALLOCATOR_FIXED_OPS`).
const COUNTED_OPS: u64 = 100_000;

/// Instructions and L1 misses (instruction fetch, data read, data write) per operation of
/// each allocator at each live size, on the benchmark's churn trace, under callgrind with its
/// cache simulation: counts, the same on every run.
fn range_allocator_counts(subjects: &[&str], sizes: &[u64]) -> Result<Vec<(String, u64, f64, f64)>> {
    crate::cli::profile::ensure_valgrind()?;
    eprintln!("run: bench: building the range allocator benchmark for callgrind");
    let out = Command::new(workspace::cargo())
        .current_dir(workspace::root())
        .args(["bench", "--no-run", "--message-format=json", "-p", "sel4-core", "--features", "std"])
        .args(["--bench", "range_allocator"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo bench --no-run")?;
    if !out.status.success() {
        bail!("building the range allocator benchmark failed ({})", out.status);
    }
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "range_allocator")
        .find_map(|m| m["executable"].as_str().map(str::to_string))
        .ok_or_else(|| anyhow!("cargo named no range_allocator benchmark executable"))?;
    let dir = workspace::target_dir().join("profile");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut rows = Vec::new();
    for subject in subjects {
        for &n in sizes {
            let file = dir.join(format!("range-{}-{n}.callgrind", subject.replace([' ', '(', ')'], "")));
            eprintln!("run: bench: {subject} at {n} live ranges under callgrind");
            let run = Command::new("valgrind")
                .args(["--tool=callgrind", "--cache-sim=yes", "--toggle-collect=*run_ops*"])
                .arg(format!("--callgrind-out-file={}", file.display()))
                .arg(&exe)
                .arg(format!("range_allocator_churn/{subject}/{n}$"))
                .env("RANGE_ALLOCATOR_FIXED_OPS", COUNTED_OPS.to_string())
                .stdin(Stdio::null())
                .output()
                .context("cannot run valgrind")?;
            if !run.status.success() {
                bail!("the range allocator benchmark under callgrind failed ({})", run.status);
            }
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let totals = crate::cli::profile::totals(&text)
                .ok_or_else(|| anyhow!("{} holds no event totals", file.display()))?;
            let get = |e: &str| totals.iter().find(|(name, _)| name == e).map_or(0, |t| t.1);
            let per_op = |v: u64| v as f64 / COUNTED_OPS as f64;
            rows.push((
                format!("{subject} at {}", grouped(n)),
                get("Ir") / COUNTED_OPS,
                per_op(get("I1mr") + get("D1mr") + get("D1mw")),
                per_op(get("DLmr") + get("DLmw")),
            ));
        }
    }
    Ok(rows)
}

/// Boots of each scenario whose figures come from TCG timing (the host's load moves them from
/// one boot to the next): the table gives the median.
const RUNS: usize = 3;

/// The middle of `values` by `key` (the upper one of two).
fn median<T: Clone>(mut values: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    values.sort_by(|a, b| key(a).total_cmp(&key(b)));
    values[values.len() / 2].clone()
}

/// "median of 3 boots, ratios a–b".
fn spread(ratios: &[f64]) -> String {
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(0.0, f64::max);
    format!("median of {} boots, ratios {} to {}", ratios.len(), table::ratio(lo), table::ratio(hi))
}

pub fn run(_: &BenchArgs) -> Result<()> {
    let mut figures = Vec::new();

    // The session figures under icount first: proportional to instructions, and the same on
    // every boot, which a second boot checks.
    let counted = [boot_with("session-bench", true)?, boot_with("session-bench", true)?];
    let deterministic = session_bench::determinism(&counted[0], &counted[1]);
    let icount_rows = session_bench::session(&counted[0])?;
    // Once more with core timing its work per request (feature `work-clock`), for what the
    // operations are made of; the difference to the boot above is what measuring costs.
    let timed = boot_featured("session-bench", true, &["work-clock"])?;
    let timed_rows = session_bench::session(&timed)?;
    // Plain TCG beside them, for reference: the median of a few boots and their spread.
    let logs = (0..RUNS).map(|_| boot("session-bench")).collect::<Result<Vec<_>>>()?;
    let runs = logs.iter().map(|l| session_bench::session(l)).collect::<Result<Vec<_>>>()?;
    for (i, r) in icount_rows.iter().enumerate() {
        let rows: Vec<_> = runs.iter().map(|rows| rows[i].clone()).collect();
        let ratios: Vec<f64> = rows.iter().map(|r| r.ratio()).collect();
        let tcg = median(rows, |r| r.ratio());
        figures.push(Figure {
            what: match r.what {
                "null" => "RAM session null request (`Usage`)".to_string(),
                op if op.contains(" of ") => format!("RAM session {op}, floor the kernel's retypes, maps and revokes"),
                op @ ("open+close" | "cnode create+destroy") => format!("session {op}"),
                op if op.starts_with("tcb ") => format!("session {op}"),
                op => format!("RAM session {op} of 4 KiB"),
            },
            value: format!(
                "{} icount cycles (plain TCG: ratio {}, {})",
                grouped(r.cycles),
                table::ratio(tcg.ratio()),
                spread(&ratios)
            ),
            floor: format!("{} {}", r.floor_is, grouped(r.floor)),
            ratio: Some(r.ratio()),
            target: r.target.map(|t| (format!("<= {t}"), r.met() == Some(true))),
            command: "cargo run -p run -- boot session-bench --icount".into(),
        });
    }
    // What the operations are made of, under icount, and what measuring that costs.
    let breakdown = session_bench::render(
        session_bench::figure(&timed, "ipc floor").unwrap_or(0),
        session_bench::figure(&timed, "kernel floor").unwrap_or(0),
        &timed_rows,
    ) + &session_bench::measuring_cost(&icount_rows, &timed_rows);
    // Core's own work per request kind against the kernel work it causes.
    for (label, own, kernel, invocations) in session_bench::kinds(&timed) {
        let command = "cargo run -p run -- boot session-bench --icount --features work-clock".to_string();
        figures.push(if invocations == 0.0 {
            let target = session_bench::NO_KERNEL_TARGET;
            Figure {
                what: format!("core's own work per `{label}` request (it makes no kernel invocation)"),
                value: format!("{} icount cycles", grouped(own)),
                floor: "–".into(),
                ratio: None,
                target: Some((format!("<= {target} cycles"), own <= target)),
                command,
            }
        } else {
            Figure {
                what: format!("core's own work per `{label}` request (allocator and session logic)"),
                value: format!("{} icount cycles", grouped(own)),
                floor: format!("the kernel work it causes {} ({invocations:.2} invocations)", grouped(kernel)),
                ratio: Some(own as f64 / kernel.max(1) as f64),
                target: Some(("<= 1".into(), own <= kernel)),
                command,
            }
        });
    }
    // Per frame of the larger dataspaces: core's own work against the kernel's.
    for s in session_bench::sized(&counted[0])?.into_iter().filter(|s| !s.what.ends_with("of 4 KiB")) {
        let (own, kernel) = (s.per_frame(s.core_work()), s.per_frame(s.kernel));
        figures.push(Figure {
            what: format!("core's own work per frame, {} (the operation less its floor, per frame)", s.what),
            value: format!("{} icount cycles per frame ({} frames)", grouped(own), s.frames),
            floor: format!("the kernel's per frame {}", grouped(kernel)),
            ratio: Some(own as f64 / kernel.max(1) as f64),
            target: Some(("<= 1".into(), own <= kernel)),
            command: "cargo run -p run -- boot session-bench --icount".into(),
        });
    }
    let log = &counted[0];
    let line = session_bench::log_line(log)?;
    figures.push(Figure {
        what: "a log line of 80 bytes through the log buffer, less core printing it".into(),
        value: format!(
            "{} icount cycles: {:.2} IPC round trips (as inline requests of 24 bytes: {:.2})",
            grouped(line.buffered.saturating_sub(line.print)),
            line.round_trips(line.buffered),
            line.round_trips(line.inline)
        ),
        floor: format!("1 IPC round trip {} (core printing the line: {})", grouped(line.ipc), grouped(line.print)),
        ratio: Some(line.round_trips(line.buffered)),
        target: None,
        command: "cargo run -p run -- boot session-bench --icount".into(),
    });

    for (size, bytes) in session_bench::bytes_per_mib(log) {
        figures.push(Figure {
            what: format!("core's bytes per MiB of a {size} dataspace (its records, as charged)"),
            value: format!("{bytes} bytes"),
            floor: "–".into(),
            ratio: None,
            target: None,
            command: "cargo run -p run -- boot session-bench".into(),
        });
    }

    // Channels between two services, through the runtime, against the raw seL4 operations they
    // are made of, measured in the same boot (two boots: icount figures must agree).
    let channel_logs = [boot_with("channel-bench", true)?, boot_with("channel-bench", true)?];
    let channel_ops = [
        ("call", "round trip: one `seL4_Call` answered by `seL4_ReplyRecv`", Some(CHANNEL_CALL_TARGET)),
        ("notify", "round trip: one `seL4_Signal` and `seL4_Wait` each way", None),
    ];
    for (op, floor_is, target) in channel_ops {
        let get = |log: &str, what: &str| {
            session_bench::figure(log, what).ok_or_else(|| anyhow!("the boot printed no `bench: {what}` figure"))
        };
        let (what, floor_what) = (format!("channel {op}"), format!("channel {op} floor"));
        let (value, floor) = (get(&channel_logs[0], &what)?, get(&channel_logs[0], &floor_what)?);
        let again = (get(&channel_logs[1], &what)?, get(&channel_logs[1], &floor_what)?);
        if again != (value, floor) {
            bail!(
                "the channel {op} figures differ between two icount boots: {value}/{floor} and {}/{}",
                again.0,
                again.1
            );
        }
        let ratio = value as f64 / floor.max(1) as f64;
        figures.push(Figure {
            what: format!("channel {op} round trip between two services (the runtime's `Channel` and `serve`)"),
            value: format!("{} icount cycles", grouped(value)),
            floor: format!("{floor_is} {}", grouped(floor)),
            ratio: Some(ratio),
            target: target.map(|t| (format!("<= {t}"), ratio <= t)),
            command: "cargo run -p run -- boot channel-bench --icount".into(),
        });
    }

    // An interrupt's way to a driver outside core, and the timer's accuracy (printed, no target:
    // QEMU delivers interrupts at block boundaries, and under icount an idle guest's clock
    // jumps to the next timer, so these figures move from boot to boot).
    let irq = boot_with("irq-bench", true)?;
    let get = |what: &str| {
        session_bench::figure(&irq, what).ok_or_else(|| anyhow!("the boot printed no `bench: {what}` figure"))
    };
    let (wake, floor) = (get("irq wake-up")?, get("irq floor")?);
    figures.push(Figure {
        what: "PIT interrupt to the driver running (services/timer irq-bench)".into(),
        value: format!("{} icount cycles", grouped(wake)),
        floor: format!("`seL4_Signal` and `seL4_Wait` on its own notification {}", grouped(floor)),
        ratio: Some(wake as f64 / floor.max(1) as f64),
        target: None,
        command: "cargo run -p run -- boot irq-bench --icount".into(),
    });
    let ack = get("irq ack")?;
    figures.push(Figure {
        what: "the driver's ack of an interrupt: a call to core, which acks the handler".into(),
        value: format!("{} icount cycles", grouped(ack)),
        floor: format!("`seL4_Signal` and `seL4_Wait` on its own notification {}", grouped(floor)),
        ratio: Some(ack as f64 / floor.max(1) as f64),
        target: None,
        command: "cargo run -p run -- boot irq-bench --icount".into(),
    });
    if let Some(line) = irq.lines().find_map(|l| l.split_once("bench: sleep 10 ").map(|(_, r)| r.to_string())) {
        figures.push(Figure {
            what: "sleep(10) through the PIT: 10 ticks in TSC cycles against the PIT's 10 ms".into(),
            value: line,
            floor: "–".into(),
            ratio: None,
            target: None,
            command: "cargo run -p run -- boot irq-bench --icount".into(),
        });
    }

    let out = cargo_bench(RANGE_BENCH)?;
    let churn = table::churn(&out).ok_or_else(|| anyhow!("the range allocator benchmark printed no summary"))?;
    let (small, large) = (churn.sizes[0], churn.sizes[churn.sizes.len() - 1]);
    let ns = |who: &str, n: u64| churn.ns(who, n).ok_or_else(|| anyhow!("no figure for {who} at {n} live ranges"));
    let (ours_small, ours_large, peer) =
        (ns("avl (ours)", small)?, ns("avl (ours)", large)?, ns("range-alloc", large)?);
    figures.push(Figure {
        what: format!("range allocator churn at {} live ranges", grouped(large)),
        value: format!("{ours_large:.0} ns/op"),
        floor: format!("`range-alloc` on the same trace {peer:.0} ns/op"),
        ratio: Some(ours_large / peer),
        target: Some(("< 1 (faster)".into(), ours_large < peer)),
        command: RANGE_BENCH.into(),
    });
    // The same trace under callgrind: instructions and cache misses per operation, beside ns/op.
    let counts = range_allocator_counts(&["avl (ours)", "range-alloc"], &[small, large])?;
    for (who, instructions, l1, ll) in &counts {
        figures.push(Figure {
            what: format!("range allocator churn, {who} live ranges, counted"),
            value: format!("{instructions} instructions, {l1:.1} L1 misses, {ll:.2} last-level misses per op"),
            floor: "–".into(),
            ratio: None,
            target: None,
            command: "cargo run -p run -- bench".into(),
        });
    }
    let growth = ours_large / ours_small;
    figures.push(Figure {
        what: format!("range allocator growth, {} to {} live ranges", grouped(small), grouped(large)),
        value: format!("{ours_large:.0} ns/op"),
        floor: format!("{ours_small:.0} ns/op at {}", grouped(small)),
        ratio: Some(growth),
        target: Some(("<= 3".into(), growth <= 3.0)),
        command: RANGE_BENCH.into(),
    });

    for (n, cells) in heap_allocators()? {
        let [talc, linked, buddy] = cells.as_slice() else { bail!("{HEAP_BENCH}: a row without three cells") };
        figures.push(Figure {
            what: format!("service heap (talc) churn at {} live blocks, host", grouped(n.parse().unwrap_or(0))),
            value: format!("{talc} ns/op (operations timed)"),
            floor: format!("`linked_list_allocator` {linked}; `buddy_system_allocator` {buddy}"),
            ratio: None,
            target: None,
            command: HEAP_BENCH.into(),
        });
    }

    let log = boot("scale")?;
    let (bytes, parts, target) =
        table::metadata(&log).ok_or_else(|| anyhow!("the scale boot printed no metadata figure"))?;
    figures.push(Figure {
        what: "core's metadata per live object (10^5 objects)".into(),
        value: format!("{bytes} bytes: {parts}"),
        floor: "–".into(),
        ratio: None,
        target: Some((format!("<= {target} bytes"), bytes <= target)),
        command: "cargo run -p run -- boot scale".into(),
    });

    for (name, ram) in [("boot", "512 MiB"), ("boot-3g", "3 GiB"), ("boot-16g", "16 GiB")] {
        let setup = |log: &str| table::setup(log).ok_or_else(|| anyhow!("`{name}` printed no setup figure"));
        let ratio = |&(cycles, floor): &(u64, u64)| cycles as f64 / floor.max(1) as f64;
        // Under icount (one boot: it is the same every time), plain TCG beside.
        let (cycles, floor) = setup(&boot_with(name, true)?)?;
        let mut setups = Vec::new();
        for _ in 0..RUNS {
            setups.push(setup(&boot(name)?)?);
        }
        let ratios: Vec<f64> = setups.iter().map(ratio).collect();
        let tcg = median(setups, ratio);
        figures.push(Figure {
            what: format!("core from its first step to ready, {ram}"),
            value: format!(
                "{} icount cycles (plain TCG: ratio {}, {})",
                grouped(cycles),
                table::ratio(ratio(&tcg)),
                spread(&ratios)
            ),
            floor: format!("one `seL4_Yield` {}", grouped(floor)),
            ratio: Some(ratio(&(cycles, floor))),
            target: None,
            command: format!("cargo run -p run -- boot {name} --icount"),
        });
    }

    // Per child in start order: (name, bytes, cycles per KiB, the boot's seL4_Yield). The first
    // child of a boot also pays core's one-time setup of its loading window. The first boot
    // counts instructions; the plain-TCG boots after it give the spread.
    let mut loads: Vec<Vec<(String, u64, u64, u64)>> = Vec::new();
    for run in 0..=RUNS {
        let log = boot_with("children-smoke", run == 0)?;
        let (_, floor) = table::setup(&log).ok_or_else(|| anyhow!("`children-smoke` printed no setup figure"))?;
        for (i, (name, bytes, per_kib)) in table::loads(&log).into_iter().enumerate().take(2) {
            if loads.len() <= i {
                loads.push(Vec::new());
            }
            loads[i].push((name, bytes, per_kib, floor));
        }
    }
    for (i, mut runs) in loads.into_iter().enumerate() {
        let ratio = |l: &(String, u64, u64, u64)| l.2 as f64 / l.3.max(1) as f64;
        let (name, bytes, per_kib, floor) = runs.remove(0);
        let ratios: Vec<f64> = runs.iter().map(ratio).collect();
        let tcg = median(runs, ratio);
        figures.push(Figure {
            what: format!("loading and starting child {} ({name}, {} bytes of ELF)", i + 1, grouped(bytes)),
            value: format!(
                "{} icount cycles per KiB (plain TCG: ratio {}, {})",
                grouped(per_kib),
                table::ratio(ratio(&tcg)),
                spread(&ratios)
            ),
            floor: format!("one `seL4_Yield` {}", grouped(floor)),
            ratio: Some(per_kib as f64 / floor.max(1) as f64),
            target: None,
            command: "cargo run -p run -- boot children-smoke --icount".into(),
        });
    }

    println!();
    println!("bench: what the operations are made of, from a boot where core timed its work (feature `work-clock`):");
    print!("{breakdown}");
    println!();
    match &deterministic {
        Ok(n) => println!("bench: icount: deterministic ({n} figures identical in two boots)"),
        Err(d) => println!("bench: icount: NOT deterministic: {d}"),
    }
    println!(
        "bench: every figure beside its floor (session figures: icount cycles, proportional to instructions, \
         caches and TLBs not modelled; the rest: TSC cycles under plain QEMU TCG, where only ratios mean anything)"
    );
    println!();
    print!("{}", table::render(&figures));
    let missed = figures.iter().filter(|f| matches!(f.target, Some((_, false)))).count();
    let with_target = figures.iter().filter(|f| f.target.is_some()).count();
    println!();
    println!("bench: {} of {with_target} targets met", with_target - missed);
    deterministic.map(|_| ()).map_err(|d| anyhow!("the icount figures differ between two boots: {d}"))
}
