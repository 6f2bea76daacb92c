//! `run demo`: boot the demo scenario with the serial console streamed live.

use clap::Args;

use crate::runner::{self, Options};
use crate::scenario::overrides::{self, Overrides};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Guest RAM, overriding the scenario (e.g. 512M, 3G).
    #[arg(long)]
    pub ram: Option<String>,
    /// Kernel configuration, overriding the scenario.
    #[arg(long)]
    pub config: Option<String>,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let overrides = Overrides { ram: args.ram.clone(), config: args.config.clone(), ..Overrides::default() };
    let s = overrides::load("demo", &overrides)?;
    if runner::run(&s, &Options { live: true, ..Options::default() })? {
        Ok(())
    } else {
        anyhow::bail!("demo failed")
    }
}
