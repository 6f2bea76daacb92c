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
use crate::root::kernel::{top_radix, CSpaceLayout, LEVEL2_BITS, MAX_LEVEL2};
use crate::root::state::{Core, CoreStrategy};

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

/// What [`extend`] built.
pub struct Extended {
    pub top_cnode_paddr: u64,
    pub top_radix: u8,
    pub level2: usize,
    /// Physical addresses of the first and the last second-level CNode.
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

/// Makes `level2` second-level CNodes (each placed by core's own allocator) reachable and
/// switches core's CSpace root to the top CNode. After this, slots up to
/// `(1 + level2) << 16` are valid destinations.
pub fn extend(core: &mut Core, bi: &BootInfo, level2: usize) -> Result<Extended, CSpaceError> {
    if level2 > MAX_LEVEL2 {
        return Err(CSpaceError::TooManyLevels { asked: level2, max: MAX_LEVEL2 });
    }
    if u32::from(bi.init_thread_cnode_size_bits()) != LEVEL2_BITS {
        return Err(CSpaceError::RootRadix { bootinfo: bi.init_thread_cnode_size_bits(), expected: LEVEL2_BITS as u8 });
    }
    let ours: &mut CoreStrategy = &mut core.ours;
    let kernel = &mut core.kernel;
    let radix = top_radix(level2);
    let top = ours.alloc(kernel, ObjectType::CNode, radix).map_err(|e| CSpaceError::Alloc("top CNode", e))?;
    let mut out = Extended { top_cnode_paddr: top.paddr, top_radix: radix, level2, level2_paddrs: (0, 0) };
    let root = init_thread::CNODE;
    let top_cap: Cap<CNode> = Cap::from_bits(top.slot.0 as Word);
    // Core's own cap to the new CNode has no guard: index it at depth = radix.
    let top_slot = |i: Word| top_cap.relative_bits_with_depth(i, radix as usize);
    // Slot 0: the boot root CNode with guard 0, so it resolves exactly the low 16 bits.
    k("mint root CNode into top", top_slot(0).mint(&root.relative(root), CapRights::all(), guard(0)?))?;
    for j in 1..=level2 {
        let c = ours
            .alloc(kernel, ObjectType::CNode, LEVEL2_BITS as u8)
            .map_err(|e| CSpaceError::Alloc("second-level CNode", e))?;
        let src = root.relative_bits_with_depth(c.slot.0 as Word, WORD_BITS as usize);
        k("copy second-level CNode into top", top_slot(j as Word).copy(&src, CapRights::all()))?;
        if j == 1 {
            out.level2_paddrs.0 = c.paddr;
        }
        out.level2_paddrs.1 = c.paddr;
    }
    // A cap to the top CNode with the guard of the new layout, in a root slot, for CNode
    // operations and retype destinations.
    let top_guard = WORD_BITS - radix - LEVEL2_BITS as u8;
    let guarded = ours
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
            bi.ipc_buffer(),
            init_thread::IPC_BUFFER,
        ),
    )?;
    kernel.inner.layout = CSpaceLayout::TwoLevel { top: guarded_cap };
    Ok(out)
}
