//! The host tests: `cargo test --workspace`, its output echoed and its
//! libtest summaries added up.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::workspace;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

impl Counts {
    /// Counts one test that passed or failed.
    pub fn count(&mut self, passed: bool) {
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }
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
pub fn run() -> anyhow::Result<Counts> {
    eprintln!("run: cargo test --workspace");
    let mut child = Command::new(workspace::cargo())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting() {
        let mut c = Counts::default();
        c.count(true);
        c.count(false);
        c.count(true);
        assert_eq!(c, Counts { passed: 2, failed: 1 });
    }

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
