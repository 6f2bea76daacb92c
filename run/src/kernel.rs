//! `run kernel`: build the seL4 kernel for one configuration (cached) and
//! show where its images are.

use clap::Args;

use crate::workspace;

#[derive(Args, Debug)]
pub struct KernelArgs {
    /// Kernel configuration (platform/sel4-kernel-build/config/<name>).
    #[arg(long, default_value = "debug")]
    pub config: String,
}

pub fn run(args: &KernelArgs) -> anyhow::Result<()> {
    let out_root = workspace::sel4_out_root();
    let started = std::time::Instant::now();
    let k = sel4_kernel_build::build_kernel(&args.config, &out_root)?;
    println!("kernel `{}` ready in {:.1} s", args.config, started.elapsed().as_secs_f64());
    println!("  kernel.elf    {}", k.kernel_elf.display());
    println!("  kernel32.elf  {}", k.kernel32_elf.display());
    println!("  build folder  {}", k.build_dir.display());
    println!("  source        {}", k.source_dir.display());
    Ok(())
}
