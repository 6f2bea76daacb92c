//! `trace` verb: replay allocation traces against the kernel model with every
//! strategy side by side, and generate traces.

use anyhow::Result;
use clap::{Args, Subcommand};

pub mod gen;
pub mod replay;

#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(subcommand)]
    pub cmd: TraceCmd,
}

#[derive(Subcommand, Debug)]
pub enum TraceCmd {
    /// Replay a trace against the kernel model, strategies side by side.
    Replay(replay::ReplayArgs),
    /// Generate a trace (seeded, deterministic).
    Gen(gen::GenArgs),
}

pub fn run(args: &TraceArgs) -> Result<()> {
    match &args.cmd {
        TraceCmd::Replay(a) => replay::run(a),
        TraceCmd::Gen(a) => gen::run(a),
    }
}
