//! `map` verb: a picture of core's view of physical memory. Boots a
//! scenario with core built with feature `memory-map` (core then prints its
//! memory map over serial before it exits, see `sel4_core::memory_map`),
//! checks the scenario as `boot` does, and draws the last map in the serial
//! output as SVG. With `--log`, draws the map in a saved serial log instead.
//!
//! `trace replay --svg` draws the same picture for the host replay.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::picture::{self, dump};
use crate::runner::{self, Boot};
use crate::scenario::overrides::{self, Overrides, MAX_TIMEOUT_SECS};
use crate::scenario::Medium;

/// The sel4-core feature that makes core print its map at the end.
pub const DUMP_FEATURE: &str = "memory-map";

#[derive(Args, Debug)]
pub struct MapArgs {
    /// Scenario name (a file in run/scenarios/ without `.scenario`) or path.
    #[arg(required_unless_present = "log")]
    pub scenario: Option<String>,
    /// Where to write the SVG.
    #[arg(short, long, value_name = "FILE.svg")]
    pub output: PathBuf,
    /// Draw the map in this saved serial log instead of booting.
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    pub log: Option<PathBuf>,
    /// Guest RAM, overriding the scenario (e.g. 512M, 3G).
    #[arg(long)]
    pub ram: Option<String>,
    /// Kernel configuration, overriding the scenario.
    #[arg(long)]
    pub config: Option<String>,
    /// Seconds until QEMU is killed, overriding the scenario.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub timeout: Option<u64>,
    /// The request script the requester runs, overriding the scenario's (a file in
    /// run/requests/ without `.requests`, or a path).
    #[arg(long, value_name = "FILE")]
    pub requests: Option<String>,
    /// Also save the boot's serial output here (to draw it again with `--log`).
    #[arg(long, value_name = "FILE", conflicts_with = "log")]
    pub save_log: Option<PathBuf>,
    /// Embed this trace (host format) in core's image: core replays it on
    /// the kernel, so the map shows the state at the end of the trace.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["log", "root_task"])]
    pub trace: Option<PathBuf>,
    /// Boot this prebuilt root-task ELF (built with feature `memory-map`)
    /// instead of building the scenario's image.
    #[arg(long, value_name = "ELF")]
    pub root_task: Option<PathBuf>,
}

pub fn run(args: &MapArgs) -> Result<()> {
    if let Some(log) = &args.log {
        let text = std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
        let map = dump::parse(&text).with_context(|| log.display().to_string())?;
        return picture::write_svg(&map, &format!("core's memory map from {}", log.display()), &args.output);
    }
    let overrides = Overrides {
        ram: args.ram.clone(),
        config: args.config.clone(),
        timeout: args.timeout,
        requests: args.requests.clone(),
        ..Overrides::default()
    };
    let s = overrides::load(args.scenario.as_deref().unwrap_or_default(), &overrides)?;
    if let Medium::Iso(_) = s.medium {
        bail!("scenario `{}` boots from an ISO; `map` boots the kernel directly (use a kernel-boot scenario)", s.name);
    }
    // The scenario's own image (its `image` and features), plus the dump.
    let mut with_dump = s.clone();
    if !with_dump.features.iter().any(|f| f == DUMP_FEATURE) {
        with_dump.features.push(DUMP_FEATURE.to_string());
    }
    let note = format!("feature {DUMP_FEATURE}");
    let boot = Boot {
        root_task: args.root_task.as_deref(),
        trace: args.trace.as_deref(),
        note: Some(&note),
        ..Boot::default()
    };
    let booted = runner::boot(&with_dump, &boot)?;
    let (passed, log) = (booted.verdict.passed(), &booted.outcome.log);
    if let Some(path) = &args.save_log {
        std::fs::write(path, log).with_context(|| format!("writing {}", path.display()))?;
    }
    let map = dump::parse(log).with_context(|| {
        format!(
            "serial output of scenario `{}`: core built with feature `{DUMP_FEATURE}` prints its map \
             (sel4_core::memory_map::write_dump) before it exits",
            s.name
        )
    })?;
    let title = format!("core's memory map at the end of scenario {} ({}, {} MiB guest)", s.name, s.config, s.ram_mib);
    picture::write_svg(&map, &title, &args.output)?;
    if !passed {
        bail!("scenario `{}` failed (map drawn from its output)", s.name);
    }
    Ok(())
}
