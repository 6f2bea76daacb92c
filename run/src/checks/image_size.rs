//! The product image's own size: `size -A` (binutils) of the root task `core` as the demo
//! boots it, printed in the test run, and one test that its `.bss` (statics, zero-filled by
//! the loader, mapped whatever the machine) stays under [`BSS_LIMIT`]: core sizes its
//! metadata from the machine at run time instead.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::image::root_task;

/// The product image and the kernel configuration the demo uses.
const IMAGE: &str = "core";
const CONFIG: &str = "debug";
/// Largest `.bss` the product image may have.
pub const BSS_LIMIT: u64 = 1 << 20;

/// Builds the product image, prints `size -A` of it and one PASS or FAIL line. Returns whether
/// it passed.
pub fn check() -> bool {
    let shown = format!("size -A of root task `{IMAGE}` ({CONFIG}): .bss under {} KiB", BSS_LIMIT >> 10);
    match measure() {
        Ok(bss) if bss < BSS_LIMIT => {
            println!("PASS {shown}: {bss} bytes");
            true
        }
        Ok(bss) => {
            println!("FAIL {shown}: {bss} bytes");
            false
        }
        Err(e) => {
            println!("FAIL {shown}: {e:#}");
            false
        }
    }
}

fn measure() -> anyhow::Result<u64> {
    let elf = root_task::build_with(IMAGE, CONFIG, &[], &[])?;
    let table = size_a(&elf)?;
    print!("{table}");
    bss_bytes(&table).ok_or_else(|| anyhow::anyhow!("`size -A {}` lists no .bss section", elf.display()))
}

fn size_a(elf: &Path) -> anyhow::Result<String> {
    let out = Command::new("size")
        .arg("-A")
        .arg(elf)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run `size` (binutils): {e}"))?;
    if !out.status.success() {
        anyhow::bail!("size -A {} failed: {}", elf.display(), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `.bss` row of `size -A` output: `.bss  <size>  <addr>`.
fn bss_bytes(table: &str) -> Option<u64> {
    table.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(".bss")).then(|| f.next()?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bss_row_is_read_and_a_table_without_one_is_none() {
        let table = "core  :\nsection     size      addr\n.text     253952   4194304\n.bss      401417   4640768\nTotal   700000\n";
        assert_eq!(bss_bytes(table), Some(401417));
        assert_eq!(bss_bytes("core  :\n.text 1 2\n"), None);
        assert_eq!(bss_bytes(".bss x 1\n"), None);
    }
}
