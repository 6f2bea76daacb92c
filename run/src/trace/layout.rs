//! Untyped layouts for replay: the `--untypeds` file format and the default
//! (the list seL4 hands a root task under QEMU with 512 MiB).
//!
//! Format: one untyped per line, `<paddr> <size_bits> [device]`, `#` starts a
//! comment; paddr hex `0x..` or decimal. The same shape as bootinfo's
//! untyped list.

use anyhow::{bail, Context, Result};
use sel4_core::kernel::{BootUntyped, Slot};

/// Captured from a real boot (see the file's header).
pub const QEMU_512M: &str = include_str!("../../traces/qemu-512m.untypeds");

/// One line of a layout file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UntypedDesc {
    pub paddr: u64,
    pub size_bits: u8,
    pub is_device: bool,
}

fn number(tok: &str) -> Option<u64> {
    match tok.strip_prefix("0x") {
        Some(h) if !h.is_empty() && !h.starts_with('+') => u64::from_str_radix(h, 16).ok(),
        Some(_) => None,
        None if !tok.starts_with('+') => tok.parse().ok(),
        None => None,
    }
}

/// Parse a layout; errors name the line. Untypeds are 2^4..2^47 bytes,
/// 16-byte aligned, and must not overlap. They need not be naturally
/// aligned *physically*: the kernel cuts boot regions by the alignment of
/// their kernel virtual address (src/kernel/boot.c:create_untypeds_for_region
/// takes `ctzl` of the pptr), and above the 512 GiB kernel window that
/// address wraps, so a real boot hands out e.g. a 2^40-byte device untyped
/// at 0x18000000000 (see the default layout).
pub fn parse(text: &str) -> Result<Vec<UntypedDesc>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or("");
        let toks: Vec<&str> = content.split_ascii_whitespace().collect();
        if toks.is_empty() {
            continue;
        }
        let (p, s, dev) = match toks.as_slice() {
            [p, s] => (*p, *s, false),
            [p, s, "device"] => (*p, *s, true),
            [_, _, other] => bail!("line {line}: expected `device`, found `{other}`"),
            [_] => bail!("line {line}: missing <size_bits>"),
            _ => bail!("line {line}: too many fields"),
        };
        let paddr = number(p).with_context(|| format!("line {line}: bad <paddr> `{p}`"))?;
        let sb = number(s).with_context(|| format!("line {line}: bad <size_bits> `{s}`"))?;
        if !(4..=47).contains(&sb) {
            bail!("line {line}: size_bits {sb} out of range 4..=47");
        }
        if paddr & 0xf != 0 {
            bail!("line {line}: paddr {paddr:#x} not aligned to 16 bytes");
        }
        out.push(UntypedDesc { paddr, size_bits: sb as u8, is_device: dev });
    }
    let mut sorted: Vec<_> = out.iter().map(|u| (u.paddr, u.paddr + (1u64 << u.size_bits))).collect();
    sorted.sort_unstable();
    for w in sorted.windows(2) {
        if w[1].0 < w[0].1 {
            bail!("untypeds overlap: [{:#x}, {:#x}) and [{:#x}, {:#x})", w[0].0, w[0].1, w[1].0, w[1].1);
        }
    }
    Ok(out)
}

/// First slot of the untyped caps in the model's CSpace; slots below hold
/// the initial caps (`seL4_NumInitialCaps` = 12 in this kernel).
pub const FIRST_UNTYPED_SLOT: u32 = 12;

/// Boot untypeds in slots from [`FIRST_UNTYPED_SLOT`] on, in file order.
pub fn boot_untypeds(descs: &[UntypedDesc]) -> Vec<BootUntyped> {
    descs
        .iter()
        .enumerate()
        .map(|(i, d)| BootUntyped {
            slot: Slot(FIRST_UNTYPED_SLOT + i as u32),
            paddr: d.paddr,
            size_bits: d.size_bits,
            is_device: d.is_device,
        })
        .collect()
}

/// Bytes of RAM (non-device untypeds).
pub fn ram_bytes(descs: &[UntypedDesc]) -> u64 {
    descs.iter().filter(|d| !d.is_device).map(|d| 1u64 << d.size_bits).sum()
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
        let ram = ram_bytes(&l);
        assert!(ram > 508 << 20 && ram < 509 << 20, "{ram}");
        // All RAM is naturally aligned; device untypeds above the kernel
        // window (2^39) are aligned by their wrapped virtual address only.
        let misaligned: Vec<_> = l.iter().filter(|d| d.paddr & ((1u64 << d.size_bits) - 1) != 0).collect();
        assert!(misaligned.iter().all(|d| d.is_device && d.paddr > 1 << 39));
        assert!(!misaligned.is_empty());
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(parse("0x1000 12\n0x1000 12\n").unwrap_err().to_string().contains("overlap"));
        assert!(parse("0x808 12").unwrap_err().to_string().contains("line 1: paddr 0x808 not aligned"));
        assert!(parse("# c\n0x0 3").unwrap_err().to_string().contains("line 2: size_bits 3"));
        assert!(parse("0x0 12 dev").unwrap_err().to_string().contains("expected `device`"));
        assert!(parse("0x0").unwrap_err().to_string().contains("missing <size_bits>"));
        assert!(parse("0xg 12").unwrap_err().to_string().contains("bad <paddr>"));
        let ok = parse("0x0 13 # seed\n4096 12 device\n").unwrap_err();
        assert!(ok.to_string().contains("overlap"));
        let ok = parse("0x0 13 # seed\n8192 12 device\n").unwrap();
        assert_eq!(ok[1], UntypedDesc { paddr: 8192, size_bits: 12, is_device: true });
    }
}
