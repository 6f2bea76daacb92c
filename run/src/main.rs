//! Host tool: build, boot and check scenarios; replay and generate allocation traces.

use clap::{Parser, Subcommand};

mod trace;

#[derive(Parser, Debug)]
#[command(name = "run", about = "core's host tool")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Replay or generate allocation traces.
    Trace(trace::TraceArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Trace(a) => trace::run(&a),
    }
}
