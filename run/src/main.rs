//! Host tool: build, boot and check scenarios; replay and generate allocation traces.
//!
//! One module per verb (`kernel`, `boot`, `demo`, `test`, `trace`, `iso`, `map`); the
//! others hold what the verbs share (scenario files, QEMU, root-task build).

use clap::{Parser, Subcommand};

mod boot;
mod demo;
mod expect;
mod firmware;
mod iso;
mod kernel;
mod map;
mod qemu;
mod root_task;
mod scenario;
mod test;
mod trace;
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
    /// Replay or generate allocation traces.
    Trace(trace::TraceArgs),
    /// Build the bootable PC image (GRUB ISO for BIOS and UEFI).
    Iso(iso::IsoArgs),
    /// Draw core's memory map (every untyped: objects, free, pad) as SVG.
    Map(map::MapArgs),
}

fn main() {
    qemu::install_interrupt_handler();
    let result = match Cli::parse().cmd {
        Cmd::Kernel(a) => kernel::run(&a),
        Cmd::Boot(a) => boot::run(&a),
        Cmd::Demo(a) => demo::run(&a),
        Cmd::Test(a) => test::run(&a),
        Cmd::Trace(a) => trace::run(&a),
        Cmd::Iso(a) => iso::run(&a),
        Cmd::Map(a) => map::run(&a),
    };
    if let Err(e) = result {
        // The message chain says what went wrong; a backtrace would not.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
