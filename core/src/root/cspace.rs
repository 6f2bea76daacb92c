//! Core's CSpace beyond the boot root CNode's 2^16 slots: a small top-level
//! CNode whose slot 0 holds the boot root CNode and whose slots 1.. hold
//! second-level CNodes of 2^16 slots, made core's CSpace root with
//! `TCB_Configure`.
//!
//! Resolution of a 64-bit CPtr `n` (`src/kernel/cspace.c:resolveAddressBits`):
//! the top CNode's cap carries a zero guard of `64 - r - 16` bits, its `r` index bits (`r`
//! sized for the second-level CNodes asked for) select `n >> 16`, and the second-level CNode (guard 0,
//! radix 16) takes `n & 0xffff`. For `n < 2^16` that is the boot root CNode's
//! slot n, so every boot CPtr (bootinfo slots, `init_thread::*`) keeps its
//! meaning; slot numbers of the library (`Slot(n)`) are CPtrs at depth 64
//! everywhere. CNode operations go through `top`, a copy of the top CNode's
//! cap with the same guard, at depth 64; a retype's destination CNode is
//! `top` at depth 48 (`root::kernel::SeL4::window`).

use crate::kernel::{Capacity, KernelError};
use crate::object::ObjectType;
use crate::phys_allocator::AllocFailure;
use sel4::cap_type::CNode;
use sel4::{init_thread, BootInfo, CNodeCapData, CPtr, Cap, CapRights, Word};

use crate::object::WORD_BITS;
use crate::root::kernel::{slot_limit, top_radix, CSpaceLayout, LEVEL2_BITS, MAX_LEVEL2};
use crate::root::state::Core;

#[derive(Debug)]
pub enum CSpaceError {
    /// More second-level CNodes requested than the top CNode holds.
    TooManyLevels {
        asked: usize,
        max: usize,
    },
    /// The boot root CNode must have exactly 2^LEVEL2_BITS slots: it becomes top slot 0 with
    /// guard 0 and resolves the low LEVEL2_BITS bits of every CPtr.
    RootRadix {
        bootinfo: u8,
        expected: u8,
    },
    Alloc(&'static str, AllocFailure),
    Kernel(&'static str, KernelError),
    /// A guard of this many bits does not fit a CNode cap's guard-size field.
    Guard(u8),
}

impl core::fmt::Display for CSpaceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CSpaceError::TooManyLevels { asked, max } => {
                write!(f, "{asked} second-level CNodes asked, the top CNode holds {max}")
            }
            CSpaceError::RootRadix { bootinfo, expected } => {
                write!(f, "the boot root CNode has 2^{bootinfo} slots, the two-level layout needs 2^{expected}")
            }
            CSpaceError::Alloc(what, e) => write!(f, "{what}: {e}"),
            CSpaceError::Kernel(what, e) => write!(f, "{what}: {e}"),
            CSpaceError::Guard(bits) => write!(f, "a guard of {bits} bits does not fit a CNode cap"),
        }
    }
}

/// What [`grow_to`] built.
pub struct Extended {
    pub top_cnode_paddr: u64,
    pub top_radix: u8,
    pub level2: usize,
    /// Physical addresses of the first and the last second-level CNode made.
    pub level2_paddrs: (u64, u64),
}

/// The priority and MCP the kernel gives the root task (`seL4_MaxPrio`), kept as they are.
const MAX_PRIO: u8 = sel4::sys::seL4_MaxPrio as u8;

/// The cap data of a CNode cap that skips `bits` bits of guard (all zero).
fn guard(bits: u8) -> Result<Word, CSpaceError> {
    CNodeCapData::skip(bits).map(CNodeCapData::into_word).ok_or(CSpaceError::Guard(bits))
}

fn k<T>(what: &'static str, r: sel4::Result<T>) -> Result<T, CSpaceError> {
    r.map_err(|e| CSpaceError::Kernel(what, e))
}

/// The end of the slots core's CSpace has now.
pub fn slot_end(core: &Core) -> u32 {
    slot_limit(core.cspace.level2)
}

/// Second-level CNodes core's CSpace could ever need on this machine: every object a child
/// holds is charged at least `charges::OBJECT_RECORD` bytes beside its size, and each takes at
/// most three slots (its cap and the two halves of a split), so RAM / OBJECT_RECORD * 3 slots.
fn max_level2(core: &Core) -> usize {
    let ram: u64 = core.boot.iter().filter(|u| !u.is_device).map(|u| 1u64 << u.size_bits).sum();
    let slots = ram / sel4_core_protocol::charges::OBJECT_RECORD * 3;
    ((slots >> LEVEL2_BITS) as usize + 1).min(MAX_LEVEL2)
}

/// Grows core's CSpace to `level2` second-level CNodes (each placed by core's own allocator).
/// The first time, it makes the top CNode (sized for every second-level CNode the machine could
/// need, with the boot root CNode in slot 0) and switches core's CSpace root to it. After this,
/// slots up to `(1 + level2) << 16` are valid destinations.
pub fn grow_to(core: &mut Core, level2: usize) -> Result<Option<Extended>, CSpaceError> {
    if level2 <= core.cspace.level2 {
        return Ok(None);
    }
    let max = max_level2(core).max(level2);
    if level2 > MAX_LEVEL2 {
        return Err(CSpaceError::TooManyLevels { asked: level2, max: MAX_LEVEL2 });
    }
    let root = init_thread::CNODE;
    let (top, radix, paddr) = match core.cspace.top {
        Some((slot, radix)) => (slot, radix, 0),
        None => {
            let radix = top_radix(max);
            let top = core
                .ours
                .alloc(&mut core.kernel, ObjectType::CNode, radix)
                .map_err(|e| CSpaceError::Alloc("top CNode", e))?;
            let top_cap: Cap<CNode> = Cap::from_bits(top.slot.0 as Word);
            // Core's own cap to the new CNode has no guard: index it at depth = radix. Slot 0:
            // the boot root CNode with guard 0, so it resolves exactly the low 16 bits.
            let slot0 = top_cap.relative_bits_with_depth(0, radix as usize);
            k("mint root CNode into top", slot0.mint(&root.relative(root), CapRights::all(), guard(0)?))?;
            (top.slot, radix, top.paddr)
        }
    };
    if level2 >= 1 << radix {
        return Err(CSpaceError::TooManyLevels { asked: level2, max: (1 << radix) - 1 });
    }
    let top_cap: Cap<CNode> = Cap::from_bits(top.0 as Word);
    let mut out = Extended { top_cnode_paddr: paddr, top_radix: radix, level2, level2_paddrs: (0, 0) };
    for j in core.cspace.level2 + 1..=level2 {
        let c = core
            .ours
            .alloc(&mut core.kernel, ObjectType::CNode, LEVEL2_BITS as u8)
            .map_err(|e| CSpaceError::Alloc("second-level CNode", e))?;
        // Through core's CSpace as it is now (after the switch, slots past the boot CNode are
        // reached through the top CNode only).
        let src = core.kernel.inner.slot(c.slot);
        let dest = top_cap.relative_bits_with_depth(j as Word, radix as usize);
        k("copy second-level CNode into top", dest.copy(&src, CapRights::all()))?;
        if out.level2_paddrs.0 == 0 {
            out.level2_paddrs.0 = c.paddr;
        }
        out.level2_paddrs.1 = c.paddr;
        core.cspace.level2 = j;
    }
    if core.cspace.top.is_none() {
        // A cap to the top CNode with the guard of the new layout, in a root slot, for CNode
        // operations and retype destinations.
        let top_guard = WORD_BITS - radix - LEVEL2_BITS as u8;
        let guarded = core
            .ours
            .placer
            .caps
            .alloc()
            .map_err(|_| CSpaceError::Alloc("guarded top cap slot", AllocFailure::Capacity(Capacity::CapSlots)))?;
        let guarded_cap: Cap<CNode> = Cap::from_bits(guarded.0 as Word);
        k(
            "mint guarded top CNode",
            root.relative(guarded_cap).mint(&root.relative(top_cap), CapRights::all(), guard(top_guard)?),
        )?;
        // The new CSpace root; priority, VSpace and IPC buffer stay as the kernel set them up
        // (src/kernel/boot.c:create_initial_thread: priority and MCP seL4_MaxPrio).
        k(
            "configure own TCB",
            init_thread::TCB.tcb_configure(
                CPtr::from_bits(0),
                MAX_PRIO,
                MAX_PRIO,
                guarded_cap,
                0,
                init_thread::VSPACE,
                0,
                core.cspace.ipc_buffer,
                init_thread::IPC_BUFFER,
            ),
        )?;
        core.kernel.inner.layout = CSpaceLayout::TwoLevel { top: guarded_cap };
        core.cspace.top = Some((top, radix));
    }
    Ok(Some(out))
}

/// At boot: checks the boot root CNode has the radix the two-level layout needs (it becomes
/// top slot 0 with guard 0 and resolves the low LEVEL2_BITS bits of every CPtr), then
/// [`grow_to`] `level2`.
pub fn extend(core: &mut Core, bi: &BootInfo, level2: usize) -> Result<Option<Extended>, CSpaceError> {
    if u32::from(bi.init_thread_cnode_size_bits()) != LEVEL2_BITS {
        return Err(CSpaceError::RootRadix { bootinfo: bi.init_thread_cnode_size_bits(), expected: LEVEL2_BITS as u8 });
    }
    grow_to(core, level2)
}
