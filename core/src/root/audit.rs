//! Kernel-verified placement audit (feature `audit`): after every placement
//! and every free, ask the kernel whether it agrees with core's mirror.
//!
//! * Frames: `X86_Page_GetAddress` must return the address core chose.
//! * Every other object: it is the only child of a leaf untyped of exactly
//!   its size, so the leaf's watermark as the kernel reports it must be the
//!   leaf's full size (the object can then only be at offset 0, i.e. at the
//!   leaf's base, which is the address core chose). The watermark comes from
//!   a retype that must fail (`root::kernel::SeL4::watermark`).
//! * After a free the leaf has no children: the kernel must report watermark
//!   0 (`src/object/untyped.c:decodeUntypedInvocation` treats a childless
//!   untyped as empty).
//!
//! The questions go to the kernel directly, not through the invocation
//! counter, so counts of placement's own invocations stay clean. On a kernel
//! with `CONFIG_PRINTING` each probe prints a kernel error line and costs
//! ~150 syscalls: audited bulk runs use the release kernel.

use crate::kernel::{KernelError, Slot};
use crate::object::ObjectType;
use crate::phys_allocator::Placed;
use crate::untyped_pool::{NodeId, NodeInfo, NodeState};

use crate::root::state::Core;

/// An empty slot kept for watermark probes, and what was checked.
pub struct Audit {
    pub probe: Slot,
    pub frames_checked: u64,
    pub watermarks_checked: u64,
}

/// The kernel disagrees with core's mirror (or refused the question).
#[derive(Debug)]
pub enum Disagreement {
    FrameAddress {
        slot: u32,
        chosen: u64,
        kernel: u64,
    },
    Watermark {
        untyped_slot: u32,
        paddr: u64,
        bits: u8,
        mirror: u64,
        kernel: u64,
    },
    NoLeaf {
        paddr: u64,
    },
    Kernel(&'static str, KernelError),
    /// No free cap slot for the watermark probes.
    NoSlot,
}

impl core::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Disagreement::FrameAddress { slot, chosen, kernel } => {
                write!(f, "frame in slot {slot:#x}: core chose {chosen:#x}, the kernel says {kernel:#x}")
            }
            Disagreement::Watermark { untyped_slot, paddr, bits, mirror, kernel } => write!(
                f,
                "untyped in slot {untyped_slot:#x} ({paddr:#x}, 2^{bits}): mirror watermark {mirror:#x}, kernel watermark {kernel:#x}"
            ),
            Disagreement::NoLeaf { paddr } => write!(f, "no live leaf in the pool for the object at {paddr:#x}"),
            Disagreement::Kernel(what, e) => write!(f, "{what}: kernel error: {e}"),
            Disagreement::NoSlot => write!(f, "no free cap slot for the audit's probes"),
        }
    }
}

impl Audit {
    pub fn new(core: &mut Core) -> Result<Self, Disagreement> {
        let probe = core.ours.placer.caps.alloc().map_err(|_| Disagreement::NoSlot)?;
        Ok(Audit { probe, frames_checked: 0, watermarks_checked: 0 })
    }

    /// Checks one node's watermark against the mirror; returns the kernel's watermark.
    pub fn node(&mut self, core: &mut Core, n: &NodeInfo) -> Result<u64, Disagreement> {
        let kernel = core
            .kernel
            .inner
            .watermark(n.slot, n.bits, self.probe)
            .map_err(|e| Disagreement::Kernel("watermark probe", e))?;
        self.watermarks_checked += 1;
        if kernel != n.watermark {
            return Err(Disagreement::Watermark {
                untyped_slot: n.slot.0,
                paddr: n.paddr,
                bits: n.bits,
                mirror: n.watermark,
                kernel,
            });
        }
        Ok(kernel)
    }

    /// Checks the frame cap in `slot` against the address core chose; returns the kernel's address.
    pub fn frame(&mut self, core: &mut Core, slot: Slot, chosen: u64) -> Result<u64, Disagreement> {
        let kernel = core.kernel.inner.frame_address(slot).map_err(|e| Disagreement::Kernel("Page_GetAddress", e))?;
        self.frames_checked += 1;
        if kernel != chosen {
            return Err(Disagreement::FrameAddress { slot: slot.0, chosen, kernel });
        }
        Ok(kernel)
    }

    /// After a placement: the object is where core chose.
    pub fn placed(&mut self, core: &mut Core, p: &Placed) -> Result<(), Disagreement> {
        let (_, ty, slot) = core.ours.object(p.handle).ok_or(Disagreement::NoLeaf { paddr: p.paddr })?;
        if matches!(ty, ObjectType::Frame4K | ObjectType::Frame2M | ObjectType::Frame1G) {
            return self.frame(core, slot, p.paddr).map(drop);
        }
        let node = core.ours.node_of(p.handle).ok_or(Disagreement::NoLeaf { paddr: p.paddr })?;
        let n = core.ours.placer.pool.info(node);
        self.node(core, &n).map(drop)
    }

    /// After a free: the leaf that held the object is empty in the kernel too.
    pub fn freed(&mut self, core: &mut Core, leaf: NodeId) -> Result<(), Disagreement> {
        let n = core.ours.placer.pool.info(leaf);
        if n.state != NodeState::Free {
            return Err(Disagreement::NoLeaf { paddr: n.paddr });
        }
        self.node(core, &n).map(drop)
    }
}
