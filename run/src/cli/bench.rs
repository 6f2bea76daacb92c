//! `run bench`: every speed figure of core in one table (Markdown, as in the README): the
//! session benchmark, the range allocator benchmark beside its crates.io peers, metadata per
//! object, setup time at three RAM sizes and load time per KiB of ELF, each beside its floor
//! with its ratio, target and verdict and the command that measures it alone. It boots the
//! scenarios that print the figures and runs the range allocator benchmark; a missing figure
//! or a failed boot is an error, a missed target is a verdict.

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
    let s = overrides::load(name, &Overrides::default())?;
    let booted = runner::boot(&s, &Boot::default())?;
    if !booted.verdict.passed() {
        bail!("scenario `{name}` failed; its figures would mean nothing");
    }
    Ok(booted.outcome.log)
}

const RANGE_BENCH: &str = "cargo bench -p sel4-core --features std --bench range_allocator";

/// Runs the range allocator benchmark, showing its output, and returns its standard output.
fn range_allocator() -> Result<String> {
    eprintln!("run: bench: {RANGE_BENCH}");
    let out = Command::new(workspace::cargo())
        .current_dir(workspace::root())
        .args(["bench", "-p", "sel4-core", "--features", "std", "--bench", "range_allocator"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo bench")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}");
    if !out.status.success() {
        bail!("{RANGE_BENCH} failed ({})", out.status);
    }
    Ok(stdout)
}

pub fn run(_: &BenchArgs) -> Result<()> {
    let mut figures = Vec::new();

    let log = boot("session-bench")?;
    let rows = session_bench::session(&log)?;
    for r in &rows {
        figures.push(Figure {
            what: match r.what {
                "null" => "RAM session null request (`Usage`)".to_string(),
                op => format!("RAM session {op} of 4 KiB"),
            },
            value: format!("{} cycles", grouped(r.cycles)),
            floor: format!("{} {}", r.floor_is, grouped(r.floor)),
            ratio: Some(r.ratio()),
            target: r.target.map(|t| (format!("<= {t}"), r.met() == Some(true))),
            command: "cargo run -p run -- boot session-bench".into(),
        });
    }
    let breakdown = session_bench::render(
        session_bench::figure(&log, "ipc floor").unwrap_or(0),
        session_bench::figure(&log, "kernel floor").unwrap_or(0),
        &rows,
    );

    let out = range_allocator()?;
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
    let growth = ours_large / ours_small;
    figures.push(Figure {
        what: format!("range allocator growth, {} to {} live ranges", grouped(small), grouped(large)),
        value: format!("{ours_large:.0} ns/op"),
        floor: format!("{ours_small:.0} ns/op at {}", grouped(small)),
        ratio: Some(growth),
        target: Some(("<= 3".into(), growth <= 3.0)),
        command: RANGE_BENCH.into(),
    });

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
        let log = boot(name)?;
        let (cycles, floor) = table::setup(&log).ok_or_else(|| anyhow!("`{name}` printed no setup figure"))?;
        figures.push(Figure {
            what: format!("core from its first step to ready, {ram}"),
            value: format!("{} cycles", grouped(cycles)),
            floor: format!("one `seL4_Yield` {}", grouped(floor)),
            ratio: Some(cycles as f64 / floor.max(1) as f64),
            target: None,
            command: format!("cargo run -p run -- boot {name}"),
        });
    }

    let log = boot("children-smoke")?;
    let (_, floor) = table::setup(&log).ok_or_else(|| anyhow!("`children-smoke` printed no setup figure"))?;
    // The first child of a boot also pays core's one-time setup of its loading window.
    for (i, (name, bytes, per_kib)) in table::loads(&log).into_iter().enumerate().take(2) {
        figures.push(Figure {
            what: format!("loading and starting child {} ({name}, {} bytes of ELF)", i + 1, grouped(bytes)),
            value: format!("{} cycles per KiB", grouped(per_kib)),
            floor: format!("one `seL4_Yield` {}", grouped(floor)),
            ratio: Some(per_kib as f64 / floor.max(1) as f64),
            target: None,
            command: "cargo run -p run -- boot children-smoke".into(),
        });
    }

    println!();
    print!("{breakdown}");
    println!();
    println!("bench: every figure beside its floor (TSC cycles under QEMU TCG: only ratios mean anything)");
    println!();
    print!("{}", table::render(&figures));
    let missed: Vec<&str> =
        figures.iter().filter(|f| matches!(f.target, Some((_, false)))).map(|f| f.what.as_str()).collect();
    let with_target = figures.iter().filter(|f| f.target.is_some()).count();
    println!();
    println!("bench: {} of {with_target} targets met", with_target - missed.len());
    Ok(())
}
