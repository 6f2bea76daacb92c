//! A host rig: the kernel model of an untyped layout with core's allocator over it, built the
//! same way for every host replay, measurement, comparison and picture.

extern crate std;
use std::string::String;
use std::vec;
use std::vec::Vec;

use sel4_core::cap_space::{CapEntry, CapSpace};
use sel4_core::kernel::{Slot, UntypedDesc};
use sel4_core::phys_allocator::PhysAllocator;
use sel4_core::placement::Placer;
use sel4_core::range_allocator::{RangeAllocator, RangeNode};
use sel4_core::untyped_pool::{PoolNode, UntypedPool};
use sel4_kernel_model::{KernelModel, ModelSlot};

/// Capacities of a rig.
#[derive(Copy, Clone, Debug)]
pub struct Options {
    /// CSpace slots for objects and split untypeds, after the boot slots.
    pub object_slots: u32,
    /// Blocks each range allocator holds (free and used).
    pub range_blocks: usize,
    /// Slots after core's cap space that core does not manage (a child's CNode, modelled as
    /// slots of the one CSpace: see [`Rig::spare_slots`]).
    pub spare_slots: u32,
}

impl Default for Options {
    /// Enough for the shipped traces and a 10^6-operation churn on the 512 MiB layout.
    fn default() -> Self {
        Options { object_slots: 1 << 18, range_blocks: 1 << 16, spare_slots: 0 }
    }
}

/// The kernel model a rig drives.
pub type Model = KernelModel<Vec<ModelSlot>>;
/// core's allocator over heap storage.
pub type HostAllocator<'r> = PhysAllocator<'r, Vec<RangeNode>, Vec<PoolNode>, Vec<CapEntry>>;

pub struct Rig {
    pub kernel: Model,
    ram: RangeAllocator<Vec<RangeNode>>,
    device: RangeAllocator<Vec<RangeNode>>,
    boot: Vec<UntypedDesc>,
    first_object_slot: Slot,
    opts: Options,
}

/// The first slot after the boot slots of `boot` (its untypeds' slots and those before).
pub fn first_free(boot: &[UntypedDesc]) -> u32 {
    boot.iter().map(|u| u.slot.0 + 1).max().unwrap_or(1)
}

impl Rig {
    /// A fresh kernel model of `boot` with `opts.object_slots` slots after the boot slots.
    pub fn new(boot: &[UntypedDesc], opts: Options) -> Result<Rig, String> {
        let first = first_free(boot);
        let slots = first as usize + opts.object_slots as usize + opts.spare_slots as usize;
        let kernel = KernelModel::new(vec![ModelSlot::EMPTY; slots], boot, Slot(first))
            .map_err(|e| std::format!("kernel model: {e:?}"))?;
        let ranges = || RangeAllocator::with_storage(vec![RangeNode::ZERO; opts.range_blocks]);
        let (ram, device) = match (ranges(), ranges()) {
            (Ok(r), Ok(d)) => (r, d),
            _ => return Err(std::format!("{} range blocks are more than a range allocator holds", opts.range_blocks)),
        };
        Ok(Rig { kernel, ram, device, boot: boot.to_vec(), first_object_slot: Slot(first), opts })
    }

    /// The first of the [`Options::spare_slots`] slots after core's cap space.
    pub fn spare_slots(&self) -> Slot {
        Slot(self.first_object_slot.0 + self.opts.object_slots)
    }

    /// core's allocator over every untyped of the layout (two pool nodes per object slot), and
    /// the kernel model it drives. Call once per rig: the allocator's range allocators live in
    /// the rig.
    pub fn ours(&mut self) -> Result<(&mut Model, HostAllocator<'_>), String> {
        let n = self.opts.object_slots as usize;
        let pool = UntypedPool::new(vec![PoolNode::EMPTY; 2 * n + 2 * self.boot.len()], &self.boot)
            .map_err(|e| std::format!("untyped pool: {e}"))?;
        let caps = CapSpace::new(vec![CapEntry::EMPTY; n], self.first_object_slot)
            .map_err(|e| std::format!("cap space: {e}"))?;
        let ours = PhysAllocator::new(&mut self.ram, &mut self.device, Placer::new(pool, caps))
            .map_err(|e| std::format!("core's allocator: {e}"))?;
        Ok((&mut self.kernel, ours))
    }
}
