//! The seL4 kernel of one configuration, built below cargo's target folder
//! (rebuilt only when its inputs change).

pub use sel4_kernel_build::KernelArtifacts as Kernel;

use crate::workspace;

pub fn build(config: &str) -> anyhow::Result<Kernel> {
    Ok(sel4_kernel_build::build_kernel(config, &workspace::sel4_out_root())?)
}
