//! `run profile`: where core's session logic spends its instructions, on the host. It builds
//! `session-profile` (`core/lab`: a child's RAM session over the kernel model, core's session
//! code as it runs in core), runs each operation under callgrind (installing valgrind if it is
//! missing), collecting only the profiled rounds, and prints instructions per operation and per
//! request, and the functions that take the most.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;

use crate::workspace;

#[derive(Args, Debug)]
pub struct ProfileArgs {
    /// Rounds of each operation.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Functions shown per operation.
    #[arg(long, default_value_t = 8)]
    pub top: usize,
}

/// The operations, and the requests each makes.
const OPERATIONS: [(&str, u64); 4] = [("usage", 1), ("alloc-free", 2), ("alloc-caps-free", 3), ("alloc-map-free", 3)];

/// The total `summary:` line of a callgrind output file: instructions collected.
pub fn summary(out: &str) -> Option<u64> {
    out.lines().find_map(|l| l.strip_prefix("summary: ")?.trim().parse().ok())
}

/// Every event of a callgrind output file's `events:` line with its `summary:` total (with
/// `--cache-sim=yes`: `Ir`, `I1mr`, `D1mr`, `D1mw` and the last-level misses).
pub fn totals(out: &str) -> Option<Vec<(String, u64)>> {
    let events = out.lines().find_map(|l| l.strip_prefix("events: "))?;
    let summary = out.lines().find_map(|l| l.strip_prefix("summary: "))?;
    let mut values: Vec<u64> = summary.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
    let names: Vec<String> = events.split_whitespace().map(str::to_string).collect();
    // Callgrind leaves out trailing zero totals.
    if values.len() > names.len() {
        return None;
    }
    values.resize(names.len(), 0);
    Some(names.into_iter().zip(values).collect())
}

/// Makes sure `valgrind` and `callgrind_annotate` are there, installing valgrind if not.
pub fn ensure_valgrind() -> Result<()> {
    sel4_kernel_build::ensure_installed(|| match (find("valgrind"), find("callgrind_annotate")) {
        (true, true) => Vec::new(),
        _ => vec![("programs `valgrind` and `callgrind_annotate`".to_string(), "valgrind")],
    })
    .map_err(|e| anyhow!("{e}"))
}

/// The function lines of `callgrind_annotate` output (`<Ir> (<share>%)  <file>:<function> ...`),
/// as (share, function), the workspace path and the binary's name dropped.
pub fn top_functions(annotated: &str, n: usize) -> Vec<(String, String)> {
    annotated
        .lines()
        .filter(|l| l.contains("%)") && !l.contains("PROGRAM TOTALS"))
        .filter_map(|l| {
            let (_, rest) = l.split_once('(')?;
            let (share, rest) = rest.split_once(')')?;
            let place = rest.trim();
            let function = place.split_once(':').map_or(place, |(_, f)| f);
            let function = function.split(" [").next().unwrap_or(function).trim();
            Some((share.trim().to_string(), function.to_string()))
        })
        .take(n)
        .collect()
}

pub fn run(args: &ProfileArgs) -> Result<()> {
    ensure_valgrind()?;
    eprintln!("run: building session-profile (core/lab, release)");
    let status = Command::new(workspace::cargo())
        .current_dir(workspace::root())
        .args(["build", "--release", "-p", "sel4-core-lab", "--features", "std", "--bin", "session-profile"])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building session-profile failed ({status})");
    }
    let bin = workspace::target_dir().join("release").join("session-profile");
    let dir = workspace::target_dir().join("profile");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    println!(
        "profile: core's session logic on the host over the kernel model, {} rounds per operation (callgrind, instructions)",
        args.rounds
    );
    for (op, requests) in OPERATIONS {
        let out = dir.join(format!("{op}.callgrind"));
        let total = callgrind(&bin, op, args.rounds, &out)?;
        let per_op = total / args.rounds;
        println!("profile: {op}: {per_op} instructions per operation, {} per request", per_op / requests);
        let annotated = Command::new("callgrind_annotate")
            .arg(&out)
            .stderr(Stdio::null())
            .output()
            .context("cannot run callgrind_annotate")?;
        for (share, function) in top_functions(&String::from_utf8_lossy(&annotated.stdout), args.top) {
            println!("profile:   {share:>7}  {function}");
        }
    }
    Ok(())
}

/// Runs `op` under callgrind, collecting only the profiled rounds; the instructions collected.
fn callgrind(bin: &Path, op: &str, rounds: u64, out: &Path) -> Result<u64> {
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--toggle-collect=*profiled*")
        .arg(bin)
        .args([op, &rounds.to_string()])
        .stdin(Stdio::null())
        .output()
        .context("cannot run valgrind")?;
    if !run.status.success() {
        bail!("session-profile {op} under callgrind failed ({}): {}", run.status, String::from_utf8_lossy(&run.stderr));
    }
    let text = std::fs::read_to_string(out).with_context(|| format!("cannot read {}", out.display()))?;
    summary(&text).ok_or_else(|| anyhow!("{} holds no summary", out.display()))
}

fn find(name: &str) -> bool {
    sel4_kernel_build::find_program(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callgrind_and_its_annotation() {
        assert_eq!(summary("events: Ir\nsummary: 10642029\ntotals: 10642029\n"), Some(10642029));
        assert_eq!(summary("events: Ir\n"), None);
        let cached = "events: Ir I1mr D1mr D1mw\nsummary: 1000 2 30 40\n";
        assert_eq!(totals(cached).unwrap()[2], ("D1mr".to_string(), 30));
        assert_eq!(totals("events: Ir I1mr\nsummary: 1000\n").unwrap()[1], ("I1mr".to_string(), 0));
        assert_eq!(totals("events: Ir\nsummary: 1000 2\n"), None);
        let annotated = "10,642,029 (100.0%)  PROGRAM TOTALS\n\
            2,126,000 (19.98%)  /w/core/src/range_allocator.rs:sel4_core::range_allocator::RangeAllocator<S,_>::fix_up [/w/target/release/session-profile]\n\
            320,000 ( 3.01%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]\n";
        assert_eq!(
            top_functions(annotated, 5),
            [
                ("19.98%".to_string(), "sel4_core::range_allocator::RangeAllocator<S,_>::fix_up".to_string()),
                ("3.01%".to_string(), "_int_free".to_string())
            ]
        );
    }
}
