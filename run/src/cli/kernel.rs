//! `run kernel`: build the seL4 kernel for one configuration (cached) and
//! show where its images are.

use clap::Args;

use crate::image::kernel;

#[derive(Args, Debug)]
pub struct KernelArgs {
    /// Kernel configuration (platform/sel4-kernel-build/config/<name>).
    #[arg(long, default_value = "debug")]
    pub config: String,
}

pub fn run(args: &KernelArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let k = kernel::build(&args.config)?;
    println!("kernel `{}` ready in {:.1} s", args.config, started.elapsed().as_secs_f64());
    println!("  kernel.elf    {}", k.kernel_elf.display());
    println!("  kernel32.elf  {}", k.kernel32_elf.display());
    println!("  build folder  {}", k.build_dir.display());
    println!("  source        {}", k.source_dir.display());
    Ok(())
}
