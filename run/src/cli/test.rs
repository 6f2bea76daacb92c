//! `run test`: every host test (`cargo test --workspace`) and then every
//! scenario not marked manual; ends with one line `N passed, N failed`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use clap::Args;

use crate::runner::{self, Options};
use crate::scenario::{self, Scenario};
use crate::workspace;

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Skip the QEMU scenarios (host tests only).
    #[arg(long)]
    pub no_scenarios: bool,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

/// Reads the counts of a libtest summary line
/// (`test result: ok. 3 passed; 0 failed; 1 ignored; ...`).
pub fn parse_test_result(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut c = Counts::default();
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else { continue };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => c.passed = n,
            "failed" => c.failed = n,
            _ => {}
        }
    }
    Some(c)
}

/// Runs `cargo test --workspace`, echoing its output, and sums its results.
fn host_tests() -> anyhow::Result<Counts> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("run: cargo test --workspace");
    let mut child = Command::new(cargo)
        .current_dir(workspace::root())
        .args(["test", "--workspace", "--no-fail-fast"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run cargo test: {e}"))?;
    let mut total = Counts::default();
    let mut summaries = 0;
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line?;
        println!("{line}");
        if let Some(c) = parse_test_result(&line) {
            total.passed += c.passed;
            total.failed += c.failed;
            summaries += 1;
        }
    }
    let status = child.wait()?;
    if !status.success() && total.failed == 0 {
        // E.g. a compile error: no test binary reported, yet it failed.
        println!("cargo test failed ({status}) after {summaries} test binaries without reporting a failed test");
        total.failed += 1;
    }
    Ok(total)
}

pub fn run(args: &TestArgs) -> anyhow::Result<()> {
    // Build scripts generate code with the kernel tools; install them here,
    // with visible progress, rather than inside a build script.
    sel4_kernel_build::ensure_build_tools()?;
    // Fetch the kernel source now, not from inside a build script.
    sel4_kernel_build::pristine_source_dir()?;
    let mut total = host_tests()?;

    if !args.no_scenarios {
        for path in scenario::list(&workspace::scenario_dir())? {
            let s = match Scenario::load(&path) {
                Ok(s) => s,
                Err(e) => {
                    println!("FAIL {}: {e:#}", path.display());
                    total.failed += 1;
                    continue;
                }
            };
            if let Some(why) = &s.manual {
                println!("skip {} (manual: {why})", s.name);
                continue;
            }
            match runner::run(&s, &Options::default()) {
                Ok(true) => total.passed += 1,
                Ok(false) => total.failed += 1,
                Err(e) => {
                    println!("FAIL {}: {e:#}", s.name);
                    total.failed += 1;
                }
            }
        }
    }

    println!("{} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_summaries() {
        let ok = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(parse_test_result(ok), Some(Counts { passed: 12, failed: 0 }));
        let bad = "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s";
        assert_eq!(parse_test_result(bad), Some(Counts { passed: 3, failed: 2 }));
        assert_eq!(parse_test_result("running 3 tests"), None);
        assert_eq!(parse_test_result("test foo ... ok"), None);
    }
}
