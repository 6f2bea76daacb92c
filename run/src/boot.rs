//! `run boot SCENARIO`: build what a scenario names, boot it in QEMU and
//! check its serial output and exit status. Also the scenario runner that
//! `demo` and `test` use.

use std::path::Path;
use std::time::Duration;

use clap::Args;

use crate::iso;
use crate::qemu::{self, Boot, Ending};
use crate::scenario::Medium;
use crate::scenario::{self, Scenario};
use crate::{root_task, workspace};

/// Longest `--timeout` accepted: a day; a deadline far beyond that would
/// overflow `Instant` arithmetic.
pub const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

#[derive(Args, Debug)]
pub struct BootArgs {
    /// Scenario name (a file in run/scenarios/ without `.scenario`) or path.
    pub scenario: String,
    /// Guest RAM, overriding the scenario (e.g. 512M, 3G).
    #[arg(long)]
    pub ram: Option<String>,
    /// Kernel configuration, overriding the scenario.
    #[arg(long)]
    pub config: Option<String>,
    /// Seconds until QEMU is killed, overriding the scenario.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub timeout: Option<u64>,
    /// Boot this prebuilt root-task ELF instead of building the scenario's image.
    #[arg(long, value_name = "ELF")]
    pub root_task: Option<std::path::PathBuf>,
    /// Embed this trace (host format) in core's image; core replays it against the kernel and
    /// its per-operation log is compared with the host replay's.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
    /// Show the serial console live while checking (as `demo` does).
    #[arg(long)]
    pub live: bool,
}

/// Loads a scenario by name or path and applies command-line overrides.
pub fn load(args: &BootArgs) -> anyhow::Result<Scenario> {
    let path = scenario::find(&workspace::scenario_dir(), &args.scenario)?;
    let mut s = Scenario::load(&path)?;
    if let Some(ram) = &args.ram {
        s.ram_mib = scenario::parse_ram(ram).map_err(|e| anyhow::anyhow!("--ram: {e}"))?;
    }
    if let Some(config) = &args.config {
        sel4_kernel_build::config_header(config)?;
        s.config = config.clone();
    }
    if let Some(t) = args.timeout {
        anyhow::ensure!(t > 0, "--timeout must be at least 1 second");
        s.timeout_secs = t;
    }
    Ok(s)
}

pub fn run(args: &BootArgs) -> anyhow::Result<()> {
    let s = load(args)?;
    if args.trace.is_some() || s.compare_traces.is_some() {
        anyhow::ensure!(args.root_task.is_none(), "--root-task and a trace comparison exclude each other");
        return match crate::trace::agree::run_scenario(&s, args.trace.as_deref(), args.live)? {
            true => Ok(()),
            false => anyhow::bail!("scenario `{}` failed", s.name),
        };
    }
    if run_scenario_with(&s, args.live, args.root_task.as_deref())? {
        Ok(())
    } else {
        anyhow::bail!("scenario `{}` failed", s.name)
    }
}

/// Builds kernel and root task, boots, checks, and prints one PASS/FAIL
/// line (and on failure the whole serial log). Returns whether it passed;
/// errors are problems before the boot (builds, QEMU missing).
pub fn run_scenario(s: &Scenario, live: bool) -> anyhow::Result<bool> {
    if s.compare_traces.is_some() {
        return crate::trace::agree::run_scenario(s, None, live);
    }
    run_scenario_with(s, live, None)
}

/// [`run_scenario`], optionally with a prebuilt root task.
pub fn run_scenario_with(s: &Scenario, live: bool, prebuilt: Option<&Path>) -> anyhow::Result<bool> {
    if let Medium::Iso(firmware) = s.medium {
        return iso::run_scenario(s, firmware, live, prebuilt);
    }
    let kernel = sel4_kernel_build::build_kernel(&s.config, &workspace::sel4_out_root())?;
    let root_task = root_task::prebuilt_or_build(s, prebuilt, None)?;
    let qemu = sel4_kernel_build::ensure_qemu()?;
    let boot = Boot {
        qemu: &qemu,
        kernel32: &kernel.kernel32_elf,
        root_task: &root_task,
        ram_mib: s.ram_mib,
        timeout: Duration::from_secs(s.timeout_secs),
        live,
    };
    let label = format!("{} ({}, {} MiB)", s.name, s.config, s.ram_mib);
    eprintln!("run: booting {label}, timeout {} s", s.timeout_secs);
    let out = qemu::run(&boot, &s.expect)?;
    Ok(report(s, &label, live, &out))
}

/// Checks a finished boot against scenario `s` and prints one PASS/FAIL
/// line `label` (on failure with the serial log unless it was shown live).
/// Returns whether it passed.
pub fn report(s: &Scenario, label: &str, live: bool, out: &qemu::Outcome) -> bool {
    let mut problems = Vec::new();
    if !out.matcher.all_matched() {
        let p = out.matcher.pending().unwrap_or_default();
        problems.push(format!("serial output never showed `{p}` (after the earlier expected lines)"));
    }
    match &out.ending {
        Ending::Exited(code) if *code == s.expected_status() => {}
        Ending::Exited(code) => problems.push(format!(
            "expected exit status {} (value {:#04x} at port 0xf4), got {}",
            s.expected_status(),
            s.exit_value,
            qemu::describe_status(*code)
        )),
        Ending::Signalled(how) => problems.push(format!("QEMU ended by {how}")),
        Ending::TimedOut => problems.push(format!("timed out after {} s; QEMU killed", s.timeout_secs)),
    }

    let timing = match (out.first_output, out.matcher.matched_at.first()) {
        (Some(first), Some(m)) => format!(
            "{:.2} s, first serial output after {:.2} s, first expected line after {:.2} s",
            out.elapsed.as_secs_f64(),
            first.as_secs_f64(),
            m.as_secs_f64()
        ),
        (Some(first), None) => {
            format!("{:.2} s, first serial output after {:.2} s", out.elapsed.as_secs_f64(), first.as_secs_f64())
        }
        _ => format!("{:.2} s, no serial output", out.elapsed.as_secs_f64()),
    };
    if problems.is_empty() {
        println!("PASS {label}: {timing}");
        return true;
    }
    if !live {
        println!("---- serial log of {} ----", s.name);
        println!("{}", out.matcher.log().trim_end());
        println!("---- end of serial log ----");
    }
    if !out.stderr.trim().is_empty() {
        println!("QEMU said: {}", out.stderr.trim_end());
    }
    println!("FAIL {label}: {timing}");
    for p in problems {
        println!("  {p}");
    }
    false
}
