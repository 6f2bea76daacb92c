//! Pictures of core's view of physical memory: every untyped root with its
//! objects, free leaves and pad, read from core's serial dump or from a host
//! replay, drawn as SVG.

use std::path::Path;

use anyhow::{Context, Result};
use sel4_core::kernel::UntypedDesc;
use sel4_core_lab::replay::host;

pub mod draw;
pub mod dump;
pub mod replayed;

/// Writes the picture of `map` to `path` and says so.
pub fn write_svg(map: &dump::MemoryMap, title: &str, path: &Path) -> Result<()> {
    let doc = draw::render(map, title);
    svg::save(path, &doc).with_context(|| format!("writing {}", path.display()))?;
    let nodes: usize = map.roots.iter().map(|r| r.nodes.len()).sum();
    eprintln!("run: wrote {} ({} untypeds, {} nodes)", path.display(), map.roots.len(), nodes);
    Ok(())
}

/// The picture of core's strategy at the end of a trace (before anything
/// is freed), as `trace replay --svg` draws it.
pub fn write_trace_svg(
    trace_name: &str,
    text: &str,
    boot: &[UntypedDesc],
    opts: host::Options,
    path: &Path,
) -> Result<()> {
    let map = replayed::ours_at_end(text, boot, opts)?;
    write_svg(&map, &format!("core's memory map at the end of {trace_name} (host replay, kernel model)"), path)
}
