//! Agreement of core on the real kernel with the host model, operation by
//! operation: from the serial output of a boot with a trace embedded, read
//! core's untyped table and its per-operation log, replay the same trace on
//! the kernel model with that untyped layout (same code:
//! `sel4_core_lab::replay_log`), and compare the lines (address or error, and
//! the leaf untyped's watermark, per operation; then the summary).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use sel4_core::kernel::{Slot, UntypedDesc};
use sel4_core_lab::replay::{self, Live};
use sel4_core_lab::replay_log::{self, Probe, Summary};
use sel4_core_lab::rig::{self, Rig};
use sel4_core_lab::trace::IdTable;

use crate::scenario::Scenario;
use crate::workspace;

/// Range allocator capacity, as in the `core-trace` image: a capacity failure must happen at
/// the same operation on both sides.
const RANGE_BLOCKS: usize = 1 << 17;
/// Cap slots for core's objects and splits on the host (core has its root CNode's free slots).
const OBJECT_SLOTS: u32 = 1 << 16;

/// One row of core's untyped table: `slot paddr end bits size... kind`.
fn parse_untyped_row(line: &str) -> Option<UntypedDesc> {
    let t: Vec<&str> = line.split_whitespace().collect();
    if t.len() < 6 {
        return None;
    }
    let slot: u32 = t[0].parse().ok()?;
    let paddr = u64::from_str_radix(t[1].strip_prefix("0x")?, 16).ok()?;
    let _end = u128::from_str_radix(t[2].strip_prefix("0x")?, 16).ok()?;
    let size_bits: u8 = t[3].parse().ok()?;
    let is_device = match *t.last()? {
        "ram" => false,
        "device" => true,
        _ => return None,
    };
    Some(UntypedDesc { slot: Slot(slot), paddr, size_bits, is_device })
}

/// The untypeds core listed at boot (its table between `untypeds:` and `total RAM`).
pub fn untyped_layout(log: &str) -> Result<Vec<UntypedDesc>> {
    let mut lines = log.lines().skip_while(|l| !l.starts_with("untypeds: "));
    let header = lines.next().ok_or_else(|| anyhow!("core printed no untyped table"))?;
    let count: usize = header
        .trim_start_matches("untypeds: ")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow!("unreadable table header `{header}`"))?;
    let rows: Vec<UntypedDesc> =
        lines.take_while(|l| !l.starts_with("total RAM")).filter_map(parse_untyped_row).collect();
    if rows.len() != count {
        bail!("core announced {count} untypeds but its table has {} rows", rows.len());
    }
    Ok(rows)
}

/// Core's per-operation log and summary lines.
pub fn core_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.starts_with("op ") || l.starts_with("summary ")).collect()
}

/// The same trace on the kernel model with `layout`: the lines core should print.
pub fn host_lines(text: &str, layout: &[UntypedDesc]) -> Result<Vec<String>> {
    // Every untyped core mirrored, including the device untypeds above the 512 GiB kernel
    // window that are aligned only by their kernel virtual address: the model takes them too.
    let opts = rig::Options { object_slots: OBJECT_SLOTS, range_blocks: RANGE_BLOCKS, spare_slots: 0 };
    let mut rig = Rig::new(layout, opts).map_err(anyhow::Error::msg)?;
    let (model, mut ours) = rig.ours().map_err(anyhow::Error::msg)?;
    let mut storage = vec![None; 1 << 15];
    let mut table: IdTable<'_, '_, Live> = IdTable::new(&mut storage);
    let mut out = Vec::new();
    let t0 = Instant::now();
    let stats = replay_log::run(
        text,
        layout,
        &mut ours,
        &mut *model,
        &mut table,
        |m, question| match question {
            Probe::Watermark { untyped, .. } => m.watermark(untyped),
            Probe::FrameAddress { frame } => m.object_at(frame).filter(|o| o.0.is_frame()).map(|o| o.1),
        },
        || t0.elapsed().as_nanos() as u64,
        |l| out.push(l.to_string()),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let after = replay::free_all(&mut ours, model, &mut table);
    let total_ram = layout.iter().filter(|u| !u.is_device).map(|u| 1u64 << u.size_bits).sum();
    out.push(Summary { stats: &stats, after: &after, total_ram_bytes: total_ram }.to_string());
    Ok(out)
}

/// First difference between core's lines and the host's, if any.
pub fn compare(core: &[&str], host: &[String]) -> Option<String> {
    for (i, h) in host.iter().enumerate() {
        match core.get(i) {
            Some(c) if *c == h.as_str() => {}
            Some(c) => return Some(format!("line {}: kernel `{c}`, host `{h}`", i + 1)),
            None => return Some(format!("core's log ends after {i} lines; host continues with `{h}`")),
        }
    }
    (core.len() > host.len()).then(|| format!("core printed {} more lines than the host", core.len() - host.len()))
}

/// The traces of scenario `s`: `--trace` if given, else every `*.trace` in its
/// `compare-traces` folder (relative to the run tool's package).
pub fn traces(s: &Scenario, given: Option<&Path>) -> Result<Vec<PathBuf>> {
    if let Some(t) = given {
        return Ok(vec![t.to_path_buf()]);
    }
    let dir = match &s.compare_traces {
        Some(d) => workspace::scenario_dir().parent().map(|p| p.join(d)).unwrap_or_default(),
        None => bail!("scenario `{}` names no traces (compare-traces) and no --trace was given", s.name),
    };
    trace_files(&dir)
}

/// Every `*.trace` in `dir`, sorted; none is an error, so a scenario
/// cannot pass without comparing anything.
pub fn trace_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "trace"))
        .collect();
    if v.is_empty() {
        bail!("no *.trace files in {}: nothing to compare", dir.display());
    }
    v.sort();
    Ok(v)
}

/// Whether core's log on the kernel and the host model's agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// Every operation's line and the summary are the same.
    Agree { operations: usize },
    /// The first difference.
    Disagree(String),
}

/// Replays `trace` (its text) on the kernel model with the untyped layout core printed in
/// `log`, and compares the model's lines with core's; an error means there was nothing to
/// compare with (no untyped table, a bad trace).
pub fn check(log: &str, trace: &str) -> Result<Agreement> {
    let layout = untyped_layout(log)?;
    let host = host_lines(trace, &layout)?;
    Ok(match compare(&core_lines(log), &host) {
        // The host's last line is the summary.
        None => Agreement::Agree { operations: host.len().saturating_sub(1) },
        Some(d) => Agreement::Disagree(d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
core: seL4 root task
untypeds: 3 (bootinfo slots [0x2338, 0x233b))
    slot               paddr                 end  bits        size  kind
    9016  0x0000000000100000  0x0000000000108000    15     32 KiB  ram
    9017  0x0000000000108000  0x0000000000110000    15     32 KiB  ram
    9018  0x0000018000000000  0x0000028000000000    40       1 TiB  device
total RAM    64 KiB in 2 untypeds (65536 bytes)
op 1 alloc 0x100000 wm 0x1000
summary strategy=ours ops=1
";

    #[test]
    fn reads_core_table_and_log() {
        let l = untyped_layout(LOG).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[1], UntypedDesc { slot: Slot(9017), paddr: 0x108000, size_bits: 15, is_device: false });
        assert!(l[2].is_device && l[2].size_bits == 40);
        assert_eq!(core_lines(LOG), ["op 1 alloc 0x100000 wm 0x1000", "summary strategy=ours ops=1"]);
        assert!(untyped_layout(&LOG.replace("untypeds: 3", "untypeds: 4")).is_err());
    }

    #[test]
    fn a_traces_folder_without_traces_is_an_error() {
        let dir = std::env::temp_dir().join(format!("run-agree-traces-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a trace").unwrap();
        let e = trace_files(&dir).unwrap_err().to_string();
        std::fs::write(dir.join("b.trace"), "").unwrap();
        std::fs::write(dir.join("a.trace"), "").unwrap();
        let found = trace_files(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.starts_with("no *.trace files in "), "{e}");
        assert_eq!(found.unwrap(), [dir.join("a.trace"), dir.join("b.trace")]);
    }

    #[test]
    fn host_lines_and_comparison() {
        let layout = untyped_layout(LOG).unwrap();
        let host = host_lines("alloc a frame_4k 0\nalloc b frame_4k 0 0x108000\nfree a\n", &layout).unwrap();
        assert_eq!(&host[..3], ["op 1 alloc 0x100000 wm 0x1000", "op 2 alloc 0x108000 wm 0x1000", "op 3 free wm 0x0"]);
        assert!(host[3].starts_with("summary strategy=ours ops=3 allocs=2 frees=1 "), "{}", host[3]);
        let core: Vec<&str> = host.iter().map(String::as_str).collect();
        assert_eq!(compare(&core, &host), None);
        let mut wrong = core.clone();
        wrong[1] = "op 2 alloc 0x109000 wm 0x1000";
        assert!(compare(&wrong, &host).unwrap().starts_with("line 2: kernel `op 2 alloc 0x109000"));
        assert!(compare(&core[..2], &host).unwrap().contains("ends after 2 lines"));
    }

    #[test]
    fn check_replays_the_trace_with_the_layout_core_printed() {
        let trace = "alloc a frame_4k 0\nfree a\n";
        let host = host_lines(trace, &untyped_layout(LOG).unwrap()).unwrap();
        let log = format!("{}{}\n", LOG.split("op 1").next().unwrap(), host.join("\n"));
        assert_eq!(check(&log, trace).unwrap(), Agreement::Agree { operations: 2 });
        let wrong = log.replace("op 2 free", "op 2 fail");
        assert!(matches!(check(&wrong, trace).unwrap(), Agreement::Disagree(d) if d.starts_with("line 2:")));
        assert!(check("no table here", trace).is_err());
    }
}
