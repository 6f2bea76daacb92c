//! `run soak`: the host property tests of the request decoder (`sel4-core-protocol`) and of
//! session accounting on the kernel model (`sel4-core-lab`, test `sessions`) with a large case
//! count (`PROPTEST_CASES`), built with optimisations; `run test` runs the same properties with
//! their modest defaults.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;

use crate::workspace;

#[derive(Args, Debug)]
pub struct SoakArgs {
    /// Cases per property.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub cases: u32,
}

/// The property suites: what they check, and the cargo arguments that run them.
const SUITES: [(&str, &[&str]); 2] = [
    ("request decoder", &["-p", "sel4-core-protocol", "--lib", "request::"]),
    ("session accounting", &["-p", "sel4-core-lab", "--features", "std", "--test", "sessions"]),
];

pub fn run(args: &SoakArgs) -> Result<()> {
    let mut failed = Vec::new();
    for (what, cargo_args) in SUITES {
        eprintln!("run: soak: {what}, {} cases per property", args.cases);
        let t0 = Instant::now();
        let status = Command::new(workspace::cargo())
            .current_dir(workspace::root())
            .args(["test", "--release"])
            .args(cargo_args)
            .env("PROPTEST_CASES", args.cases.to_string())
            .stdin(Stdio::null())
            .status()
            .map_err(|e| anyhow::anyhow!("cannot run cargo test: {e}"))?;
        let secs = t0.elapsed().as_secs_f64();
        if status.success() {
            println!("soak: {what}: {} cases per property passed in {secs:.1} s", args.cases);
        } else {
            println!("soak: {what}: FAILED after {secs:.1} s ({status})");
            failed.push(what);
        }
    }
    if !failed.is_empty() {
        bail!("soak failed: {}", failed.join(", "));
    }
    Ok(())
}
