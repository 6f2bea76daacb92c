//! `run test`: every host test (`cargo test --workspace`), the format and
//! lint checks CI makes and the product image's `.bss` (each counted as one
//! test), and then every scenario
//! not marked manual; ends with one line `N passed, N failed`.

use clap::Args;

use crate::checks::{host_tests, image_size, lints};
use crate::runner::{self, Options};
use crate::scenario::{self, Scenario};
use crate::workspace;

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Skip the QEMU scenarios (host tests, format and lint checks only).
    #[arg(long)]
    pub no_scenarios: bool,
}

pub fn run(args: &TestArgs) -> anyhow::Result<()> {
    // Build scripts generate code with the kernel tools; install them here,
    // with visible progress, rather than inside a build script.
    sel4_kernel_build::ensure_build_tools()?;
    // Fetch the kernel source now, not from inside a build script.
    sel4_kernel_build::pristine_source_dir()?;
    let mut total = host_tests::run()?;
    for lint in [&lints::FMT, &lints::CLIPPY, &lints::CLIPPY_FREESTANDING] {
        total.count(lints::check(lint, &lints::Tools::from_env()));
    }
    total.count(image_size::check());

    if !args.no_scenarios {
        for path in scenario::list(&workspace::scenario_dir())? {
            let s = match Scenario::load(&path) {
                Ok(s) => s,
                Err(e) => {
                    println!("FAIL {}: {e:#}", path.display());
                    total.failed += 1;
                    continue;
                }
            };
            if let Some(why) = &s.manual {
                println!("skip {} (manual: {why})", s.name);
                continue;
            }
            match runner::run(&s, &Options::default()) {
                Ok(passed) => total.count(passed),
                Err(e) => {
                    println!("FAIL {}: {e:#}", s.name);
                    total.failed += 1;
                }
            }
        }
    }

    println!("{} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
