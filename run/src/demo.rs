//! `run demo`: boot the demo scenario with the serial console streamed live.

use clap::Args;

use crate::boot::{self, BootArgs};

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
    let s = boot::load(&BootArgs {
        scenario: "demo".into(),
        ram: args.ram.clone(),
        config: args.config.clone(),
        timeout: None,
        root_task: None,
        trace: None,
        live: true,
    })?;
    if boot::run_scenario(&s, true)? {
        Ok(())
    } else {
        anyhow::bail!("demo failed")
    }
}
