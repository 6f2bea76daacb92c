//! core's memory map at the end of a trace: the trace is replayed with
//! core's strategy (`ours`) on a fresh kernel model, and the pool is read
//! before anything is freed (the replay report itself frees everything to
//! measure reuse, so it cannot give this state).

use anyhow::{anyhow, Result};
use sel4_core::kernel::UntypedDesc;
use sel4_core_lab::replay::{self, host, Live};
use sel4_core_lab::rig::{self, Rig};
use sel4_core_lab::trace::{IdEntry, IdTable};

use crate::picture::dump::{self, MemoryMap};

/// Replays `text` with `ours` on `boot` (sizes as `trace replay` uses
/// them) and returns the pool's map after the last operation.
pub fn ours_at_end(text: &str, boot: &[UntypedDesc], opts: host::Options) -> Result<MemoryMap> {
    let summary = host::check(text).map_err(anyhow::Error::msg)?;
    let mut rig = Rig::new(
        boot,
        rig::Options { object_slots: opts.object_slots, range_blocks: host::RANGE_NODES, spare_slots: 0 },
    )
    .map_err(anyhow::Error::msg)?;
    let (k, mut ours) = rig.ours().map_err(anyhow::Error::msg)?;
    let mut ids: Vec<IdEntry<'_, Live>> = vec![None; (summary.max_live + 1) * 2 + 16];
    let mut table = IdTable::new(&mut ids);
    replay::run(text, boot, &mut ours, k, &mut table, || 0).map_err(|e| anyhow!("{e}"))?;
    Ok(dump::from_pool(&ours.placer.pool))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::untypeds;
    use sel4_core::kernel::Slot;
    use sel4_core::memory_map::Kind;
    use sel4_core::object::ObjectType;

    #[test]
    fn seed_trace_ends_with_four_objects_and_the_cnode_at_0x400() {
        let boot = untypeds::parse(sel4_core_lab::shipped::SEED_UNTYPEDS).unwrap();
        let m = ours_at_end(sel4_core_lab::shipped::SEED, &boot, host::Options { object_slots: 64 }).unwrap();
        assert_eq!(m.roots.len(), 1);
        let objects: Vec<(u64, u8, Kind)> = m.roots[0]
            .leaves()
            .filter(|n| matches!(n.kind, Kind::Object(_)))
            .map(|n| (n.paddr, n.bits, n.kind))
            .collect();
        let cnode = Kind::Object(ObjectType::CNode);
        assert_eq!(
            objects,
            vec![
                (0x0, 10, cnode),
                (0x400, 10, cnode),
                (0x800, 11, cnode),
                (0x1000, 12, Kind::Object(ObjectType::Frame4K))
            ]
        );
    }

    #[test]
    fn bad_trace_is_an_error_naming_the_line() {
        let boot = [UntypedDesc { slot: Slot(12), paddr: 0, size_bits: 13, is_device: false }];
        let e = ours_at_end("alloc a tcb 0\nfree b\n", &boot, host::Options { object_slots: 8 }).unwrap_err();
        assert_eq!(e.to_string(), "line 2: free of id `b` that is not live");
    }
}
