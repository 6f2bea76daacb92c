//! `trace gen`: write a generated trace (churn, fill, adversary, seed) to a file or stdout.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use sel4_core::range_allocator::ArrayRangeAllocator;
use sel4_core_lab::replay::host;
use sel4_core_lab::trace::gen;

use crate::untypeds;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Random churn over mixed object types.
    Churn,
    /// Allocations only, until more bytes are requested than the layout holds.
    Fill,
    /// Interleaved sizes, free every other object, then large blocks.
    Adversary,
    /// The canonical gap case on an 8 KiB untyped (use with seed.untypeds).
    Seed,
}

/// Limits of the size-like arguments: the churn's live table is four
/// entries per `--live`, the others bound the length of the output.
pub const MAX_OPS: u64 = 1 << 30;
pub const MAX_LIVE: u64 = 1 << 20;
/// 1 TiB, twice the largest physical memory the replay layouts describe.
pub const MAX_BYTES: u64 = 1 << 40;

#[derive(Args, Debug)]
pub struct GenArgs {
    pub kind: Kind,
    /// Number of operations (churn).
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u64).range(1..=MAX_OPS))]
    pub ops: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Live objects the churn walks around.
    #[arg(long, default_value_t = 500,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_LIVE))]
    pub live: usize,
    /// Bytes to request: fill stops above it; adversary phase 3 stops at it.
    #[arg(long, default_value_t = 600 << 20, value_parser = clap::value_parser!(u64).range(1..=MAX_BYTES))]
    pub bytes: u64,
    /// Bytes requested in the adversary's first (interleaved) phase.
    #[arg(long, default_value_t = 400 << 20, value_parser = clap::value_parser!(u64).range(1..=MAX_BYTES))]
    pub phase1_bytes: u64,
    /// Churn: percentage of allocations that ask for an address (free at
    /// that point in an allocator with core's choices).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
    pub addr_percent: u64,
    /// Untyped layout the addresses are picked in (default: QEMU 512 MiB).
    #[arg(long)]
    pub untypeds: Option<PathBuf>,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// The canonical gap case: on an 8 KiB untyped at 0, CNode 1 KiB at
/// 0x0, CNode 2 KiB at 0x800 (gap 0x400..0x800), 4 KiB frame at 0x1000,
/// then a 1 KiB CNode wherever the allocator chooses: the only free block
/// is 0x400, which plain FreeIndex placement cannot reach.
pub const SEED_TRACE: &str = "\
# The canonical gap case on one 8 KiB untyped at 0x0 (replay with seed.untypeds).
alloc c1 cnode 5 0x0        # 1 KiB at 0x0
alloc c2 cnode 6 0x800      # 2 KiB at 0x800, leaves the gap 0x400..0x800
alloc p frame_4k 0 0x1000   # 4 KiB at 0x1000
alloc c3 cnode 5            # 1 KiB: the allocator's only choice is 0x400
";

/// Adapts an `io::Write` to `fmt::Write` for the no_std generators, keeping
/// the first I/O error.
struct FmtIo<W: Write> {
    w: W,
    err: Option<std::io::Error>,
}

impl<W: Write> fmt::Write for FmtIo<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.w.write_all(s.as_bytes()).map_err(|e| {
            self.err = Some(e);
            fmt::Error
        })
    }
}

/// Generate a trace into `w`.
pub fn generate(args: &GenArgs, w: impl Write) -> Result<()> {
    let mut out = FmtIo { w: std::io::BufWriter::new(w), err: None };
    let r = match args.kind {
        Kind::Churn if args.addr_percent > 0 => {
            let (layout_name, layout_text) = match &args.untypeds {
                Some(p) => (
                    p.display().to_string(),
                    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
                ),
                None => ("the QEMU 512 MiB layout".to_string(), untypeds::QEMU_512M.to_string()),
            };
            let roots: Vec<(u64, u8)> = untypeds::parse(&layout_text)
                .with_context(|| layout_name.clone())?
                .into_iter()
                .filter(|d| !d.is_device)
                .map(|d| (d.paddr, d.size_bits))
                .collect();
            let mut ram = ArrayRangeAllocator::<{ host::RANGE_NODES }>::new_boxed();
            for &(b, sb) in &roots {
                let end = b + (1u64 << sb);
                ram.add_boundary(b)
                    .and_then(|()| ram.add_boundary(end))
                    .and_then(|()| ram.add_range(b, 1u64 << sb))
                    .map_err(|e| anyhow::anyhow!("layout: {e:?}"))?;
            }
            let mut live = vec![(0u64, 0u64); args.live.saturating_mul(4).max(16)];
            gen::churn_at(&mut out, args.ops, args.seed, args.live, args.addr_percent, &roots, &mut ram, &mut live)
        }
        Kind::Churn => {
            let mut live = vec![0u64; args.live.saturating_mul(4).max(16)];
            gen::churn(&mut out, args.ops, args.seed, args.live, &mut live)
        }
        Kind::Fill => gen::fill(&mut out, args.bytes, args.seed),
        Kind::Adversary => gen::adversary(&mut out, args.phase1_bytes, args.bytes, args.seed),
        Kind::Seed => fmt::Write::write_str(&mut out, SEED_TRACE),
    };
    if r.is_err() {
        return Err(out.err.take().map(anyhow::Error::from).unwrap_or_else(|| anyhow::anyhow!("formatting failed")));
    }
    out.w.flush()?;
    Ok(())
}

pub fn run(args: &GenArgs) -> Result<()> {
    match &args.output {
        Some(p) => {
            let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
            generate(args, f)
        }
        None => generate(args, std::io::stdout().lock()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        gen: GenArgs,
    }

    fn gen(args: &[&str]) -> String {
        let cli = Cli::try_parse_from(std::iter::once("gen").chain(args.iter().copied())).unwrap();
        let mut out = Vec::new();
        generate(&cli.gen, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The shipped traces are exactly what the generator makes, so anyone
    /// can regenerate them (the commands are in the README).
    #[test]
    fn shipped_traces_are_reproducible() {
        assert_eq!(gen(&["seed"]), sel4_core_lab::shipped::SEED);
        assert_eq!(gen(&["churn", "--ops", "4000", "--seed", "1"]), sel4_core_lab::shipped::CHURN);
        assert_eq!(
            gen(&["churn", "--ops", "4000", "--seed", "1", "--addr-percent", "25"]),
            sel4_core_lab::shipped::CHURN_AT
        );
        assert_eq!(gen(&["fill", "--seed", "1"]), sel4_core_lab::shipped::FILL);
        assert_eq!(gen(&["adversary", "--seed", "1"]), sel4_core_lab::shipped::ADVERSARY);
    }

    #[test]
    fn size_arguments_out_of_range_are_cli_errors() {
        let parse = |args: &[&str]| Cli::try_parse_from(std::iter::once("gen").chain(args.iter().copied()));
        for bad in [
            &["churn", "--live", "100000000000"][..],
            &["churn", "--live", "0"],
            &["churn", "--ops", "0"],
            &["churn", "--ops", "2000000000"],
            &["fill", "--bytes", "2000000000000"],
            &["adversary", "--phase1-bytes", "0"],
        ] {
            let e = parse(bad).err().unwrap_or_else(|| panic!("{bad:?} was accepted"));
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}: {e}");
        }
        assert_eq!(parse(&["churn", "--live", "1048576"]).unwrap().gen.live, 1 << 20);
    }

    #[test]
    fn generator_is_deterministic_for_a_seed() {
        let a = gen(&["churn", "--ops", "3000", "--seed", "9"]);
        assert_eq!(a, gen(&["churn", "--ops", "3000", "--seed", "9"]));
        assert_ne!(a, gen(&["churn", "--ops", "3000", "--seed", "10"]));
        assert_eq!(a.lines().filter(|l| !l.starts_with('#')).count(), 3000);
        let b = gen(&["churn", "--ops", "3000", "--seed", "9", "--addr-percent", "30"]);
        assert_eq!(b, gen(&["churn", "--ops", "3000", "--seed", "9", "--addr-percent", "30"]));
        assert!(b.lines().filter(|l| l.starts_with("alloc") && l.contains(" 0x")).count() > 200);
    }
}
