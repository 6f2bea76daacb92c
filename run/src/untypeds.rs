//! Untyped layouts for replay: the `--untypeds` file (format and parser in
//! `sel4_core_lab::trace::untypeds`) and the default, the list seL4 hands a root
//! task under QEMU with 512 MiB.

use anyhow::{anyhow, bail, Result};
pub use sel4_core_lab::trace::untypeds::UntypedDesc;

/// Captured from a real boot (see the file's header).
pub const QEMU_512M: &str = sel4_core_lab::shipped::QEMU_512M_UNTYPEDS;

/// Parse a layout; errors name the line; overlapping untypeds are refused.
pub fn parse(text: &str) -> Result<Vec<UntypedDesc>> {
    let out: Vec<UntypedDesc> =
        sel4_core_lab::trace::untypeds::parse(text).collect::<Result<_, _>>().map_err(|e| anyhow!("{e}"))?;
    let mut sorted: Vec<_> = out.iter().map(|u| (u.paddr, u.end())).collect();
    sorted.sort_unstable();
    for w in sorted.windows(2) {
        if w[1].0 < w[0].1 {
            bail!("untypeds overlap: [{:#x}, {:#x}) and [{:#x}, {:#x})", w[0].0, w[0].1, w[1].0, w[1].1);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_is_the_captured_boot() {
        let l = parse(QEMU_512M).unwrap();
        assert_eq!(l.len(), 138);
        assert_eq!(l.iter().filter(|d| !d.is_device).count(), 32);
        // 508.6 MiB of RAM out of the 512 MiB guest.
        let ram: u64 = l.iter().filter(|d| !d.is_device).map(|d| 1u64 << d.size_bits).sum();
        assert!(ram > 508 << 20 && ram < 509 << 20, "{ram}");
        // All RAM is naturally aligned; device untypeds above the kernel
        // window (2^39) are aligned by their wrapped virtual address only.
        let misaligned: Vec<_> = l.iter().filter(|d| !d.naturally_aligned()).collect();
        assert!(misaligned.iter().all(|d| d.is_device && d.paddr > 1 << 39));
        assert_eq!(misaligned.len(), 12);
    }

    #[test]
    fn overlap_and_line_errors() {
        assert!(parse("0x1000 12\n0x1000 12\n").unwrap_err().to_string().contains("overlap"));
        assert!(parse("0x0 13 # seed\n4096 12 device\n").unwrap_err().to_string().contains("overlap"));
        assert_eq!(parse("# c\n0x0 3").unwrap_err().to_string(), "line 2: size_bits 3 out of range 4..=47");
    }
}
