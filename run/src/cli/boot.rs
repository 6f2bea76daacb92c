//! `run boot SCENARIO`: build what a scenario names, boot it in QEMU and
//! check its serial output and exit status.

use std::path::PathBuf;

use clap::Args;

use crate::runner::{self, Options};
use crate::scenario::overrides::{self, Overrides, MAX_TIMEOUT_SECS};

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
    /// The request script the requester runs, overriding the scenario's (a file in
    /// run/requests/ without `.requests`, or a path).
    #[arg(long, value_name = "FILE")]
    pub requests: Option<String>,
    /// Boot this prebuilt root-task ELF instead of building the scenario's image.
    #[arg(long, value_name = "ELF")]
    pub root_task: Option<PathBuf>,
    /// Embed this trace (host format) in core's image; core replays it against the kernel and
    /// its per-operation log is compared with the host replay's.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Show the serial console live while checking (as `demo` does).
    #[arg(long)]
    pub live: bool,
    /// Start QEMU halted with its gdb stub (port 1234), print the gdb command line that loads
    /// the kernel's and the root task's symbols and attaches, and wait for QEMU without a
    /// timeout (Ctrl-C ends it).
    #[arg(long, conflicts_with = "timeout")]
    pub gdb: bool,
    /// Count instructions (QEMU `-icount shift=0`): timings proportional to instructions and
    /// the same on every boot (caches and TLBs are not modelled).
    #[arg(long)]
    pub icount: bool,
    /// Type at the guest: each line of the terminal goes to its COM2 (where the shell's serial
    /// driver listens), the console and COM2's output are shown live, no timeout (Ctrl-C ends it).
    #[arg(long, conflicts_with_all = ["timeout", "gdb"])]
    pub interactive: bool,
    /// More cargo features of the image's package, added to the scenario's (e.g. `work-clock`:
    /// core prints its work per request kind for each child).
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
}

pub fn run(args: &BootArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        ram: args.ram.clone(),
        config: args.config.clone(),
        timeout: args.timeout,
        requests: args.requests.clone(),
        features: args.features.clone(),
    };
    let s = overrides::load(&args.scenario, &overrides)?;
    let options = Options {
        live: args.live,
        root_task: args.root_task.as_deref(),
        trace: args.trace.as_deref(),
        gdb: args.gdb,
        icount: args.icount,
        interactive: args.interactive,
    };
    if runner::run(&s, &options)? {
        Ok(())
    } else {
        anyhow::bail!("scenario `{}` failed", s.name)
    }
}
