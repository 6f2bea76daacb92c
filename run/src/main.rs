//! Host tool: build, boot and check scenarios; replay and generate allocation traces.
//!
//! Layers, each importing only those below it:
//! - `cli`: one module per verb (`kernel`, `boot`, `demo`, `test`, `soak`, `trace`, `iso`, `map`);
//! - `runner`: runs a scenario (build, boot, judge, report);
//! - `agree`: core's per-operation log on the kernel against the host model's; `bench`: the
//!   figures a boot prints set against their floors;
//! - `verdict`: what a boot showed against what its scenario wants, and its report;
//! - `image` (kernel, root-task and service builds) and `machine` (QEMU, firmware, GRUB ISO);
//! - `scenario`: the scenario files; `workspace`: where things live.
//!
//! Beside them: `checks` (host tests, format and lint checks) for `test`, and
//! for the replay verbs `picture` (memory map pictures) and `untypeds`
//! (untyped layouts).

use clap::{Parser, Subcommand};

use cli::{bench as bench_cli, boot, demo, iso, kernel, map, profile, soak, test, trace};

mod agree;
mod bench;
mod checks;
mod cli;
mod image;
mod machine;
mod picture;
mod runner;
mod scenario;
mod untypeds;
mod verdict;
mod workspace;

#[derive(Parser, Debug)]
#[command(name = "run", about = "core's host tool")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Build the seL4 kernel (cached) and show where its images are.
    Kernel(kernel::KernelArgs),
    /// Boot a scenario in QEMU and check its serial output and exit status.
    Boot(boot::BootArgs),
    /// Boot the demo scenario with the serial console shown live.
    Demo(demo::DemoArgs),
    /// Run all host tests, then every scenario not marked manual.
    Test(test::TestArgs),
    /// Run the host property tests of the request decoder and of session accounting with many
    /// cases.
    Soak(soak::SoakArgs),
    /// Print every speed figure of core beside its floor, target and verdict (boots the
    /// benchmark scenarios and runs the range allocator benchmark).
    Bench(bench_cli::BenchArgs),
    /// Profile core's session logic on the host under callgrind: instructions per request kind
    /// and the functions that take the most.
    Profile(profile::ProfileArgs),
    /// Replay or generate allocation traces.
    Trace(trace::TraceArgs),
    /// Build the bootable PC image (GRUB ISO for BIOS and UEFI).
    Iso(iso::IsoArgs),
    /// Draw core's memory map (every untyped: objects, free, pad) as SVG.
    Map(map::MapArgs),
}

fn main() {
    machine::qemu::install_interrupt_handler();
    let result = match Cli::parse().cmd {
        Cmd::Kernel(a) => kernel::run(&a),
        Cmd::Boot(a) => boot::run(&a),
        Cmd::Demo(a) => demo::run(&a),
        Cmd::Test(a) => test::run(&a),
        Cmd::Soak(a) => soak::run(&a),
        Cmd::Trace(a) => trace::run(&a),
        Cmd::Bench(a) => bench_cli::run(&a),
        Cmd::Profile(a) => profile::run(&a),
        Cmd::Iso(a) => iso::run(&a),
        Cmd::Map(a) => map::run(&a),
    };
    if let Err(e) = result {
        // The message chain says what went wrong; a backtrace would not.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
