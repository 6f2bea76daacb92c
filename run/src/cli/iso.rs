//! `run iso`: the bootable PC image of a scenario (GRUB ISO for BIOS and
//! UEFI, CD or USB stick) with its kernel configuration and root task.

use std::path::PathBuf;

use clap::Args;

use crate::image::{kernel, root_task};
use crate::machine::iso;
use crate::scenario::overrides::{self, Overrides};
use crate::workspace;

#[derive(Args, Debug)]
pub struct IsoArgs {
    /// Scenario whose kernel configuration and root task go on the image.
    #[arg(default_value = "iso-bios")]
    pub scenario: String,
    /// Where to write the ISO (default: <target>/iso/core.iso).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Kernel configuration, overriding the scenario's.
    #[arg(long)]
    pub config: Option<String>,
}

pub fn run(args: &IsoArgs) -> anyhow::Result<()> {
    let s = overrides::load(&args.scenario, &Overrides { config: args.config.clone(), ..Overrides::default() })?;
    let kernel = kernel::build(&s.config)?;
    let root_task = root_task::build_scenario(&s, None)?;
    let out = args.output.clone().unwrap_or_else(|| workspace::target_dir().join("iso").join("core.iso"));
    let size = iso::build(&kernel.kernel_elf, &root_task, &out)?;
    println!("ISO ready: {} ({size} bytes, {:.1} MiB)", out.display(), size as f64 / (1 << 20) as f64);
    println!("  kernel `{}`, root task `{}`; boots with BIOS and UEFI, serial COM1 115200 8N1", s.config, s.image);
    println!("  USB stick: dd if={} of=/dev/sdX bs=4M status=progress oflag=sync", out.display());
    Ok(())
}
