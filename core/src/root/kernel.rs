//! The real kernel behind the library's [`Kernel`] trait: `Untyped_Retype`,
//! `CNode_Delete` and `CNode_Revoke` through `platform/sel4`, with the
//! kernel's error replies mapped to [`KernelError`]. Also the two read-only
//! questions the audit asks the kernel: a frame's physical address and an
//! untyped's watermark.
//!
//! Slots are addressed through [`CSpaceLayout`]: the library's `Slot(n)` is
//! the CPtr `n` at depth 64 (see `root::cspace` for the two-level layout that
//! makes that true beyond the root CNode's 2^16 slots).

use crate::kernel::{Kernel, KernelError, Slot};
use crate::object::{ObjectType, MAX_UNTYPED_BITS, WORD_BITS};
use sel4::cap_type::{self, CNode, Untyped};
use sel4::{AbsoluteCPtr, CPtr, Cap, Word};

/// How slot numbers reach CNodes.
#[derive(Copy, Clone, Debug)]
pub enum CSpaceLayout {
    /// Only the boot root CNode (radix 16, guard 48): `Slot(n)` is slot n of it.
    Root,
    /// Two levels (`root::cspace`): `top` is a cap (in a root slot) to the top CNode with
    /// the guard that makes it resolve 64-bit CPtrs; slot n lives in the second-level
    /// CNode `n >> 16` (0 = the boot root CNode) at index `n & 0xffff`.
    TwoLevel { top: Cap<CNode> },
}

/// Bits a second-level CNode resolves (the boot root CNode's radix, `CONFIG_ROOT_CNODE_SIZE_BITS`).
pub const LEVEL2_BITS: u32 = sel4_config::ROOT_CNODE_SIZE_BITS as u32;

/// Second-level CNodes core can use: slot numbers are 32 bits, and the cap space keeps the
/// largest for "none".
pub const MAX_LEVEL2: usize = (u32::MAX >> LEVEL2_BITS) as usize - 1;

/// log2 slots of the top CNode that holds the boot root CNode and `level2` more.
pub const fn top_radix(level2: usize) -> u8 {
    // ceil(log2(level2 + 1)), at least 1 (a CNode has at least two slots).
    let bits = usize::BITS - level2.leading_zeros();
    if bits == 0 {
        1
    } else {
        bits as u8
    }
}

/// First slot number past the slots that exist with `level2` second-level CNodes.
pub const fn slot_limit(level2: usize) -> u32 {
    ((1 + level2) as u32) << LEVEL2_BITS
}

/// The seL4 kernel, reached through core's own CSpace.
pub struct SeL4 {
    pub layout: CSpaceLayout,
}

impl SeL4 {
    /// The slot `s` as the (root, path, depth) of a CNode operation.
    pub fn slot(&self, s: Slot) -> AbsoluteCPtr {
        match self.layout {
            CSpaceLayout::Root => sel4::init_thread::CNODE.relative_bits_with_depth(s.0 as Word, WORD_BITS as usize),
            CSpaceLayout::TwoLevel { top } => top.relative_bits_with_depth(s.0 as Word, WORD_BITS as usize),
        }
    }

    /// Destination CNode and offset of a retype into `[dest, dest + n)`.
    fn window(&self, dest: Slot) -> (AbsoluteCPtr, usize) {
        match self.layout {
            CSpaceLayout::Root => (sel4::init_thread::CNODE.absolute_cptr_for_self(), dest.0 as usize),
            CSpaceLayout::TwoLevel { top } => {
                // A lookup of depth d reads the low d bits of the path, top down
                // (src/kernel/cspace.c:resolveAddressBits): at depth 64 - 16 the path is the
                // CPtr without its second-level index, and resolution stops at the top CNode's
                // slot that holds the second-level CNode.
                let level2 = dest.0 >> LEVEL2_BITS;
                let cnode = top.relative_bits_with_depth(level2 as Word, WORD_BITS as usize - LEVEL2_BITS as usize);
                (cnode, (dest.0 & ((1 << LEVEL2_BITS) - 1)) as usize)
            }
        }
    }

    /// `seL4_X86_Page_GetAddress` of the frame cap in `s`.
    pub fn frame_address(&self, s: Slot) -> Result<u64, KernelError> {
        Cap::<cap_type::Frame4K>::from_bits(s.0 as Word).frame_get_address()
    }

    /// The kernel's effective watermark of the untyped in `untyped`, from a retype that must
    /// fail: an untyped of 2^47 bytes into the empty slot `probe`. The kernel checks the
    /// destination slot first, then replies NotEnoughMemory with `2^size - watermark`, where the
    /// watermark counts as 0 when the untyped has no children
    /// (`src/object/untyped.c:decodeUntypedInvocation`). `untyped_bits` is its size.
    pub fn watermark(&mut self, untyped: Slot, untyped_bits: u8, probe: Slot) -> Result<u64, KernelError> {
        match self.untyped_retype(untyped, ObjectType::Untyped, MAX_UNTYPED_BITS, probe, 1) {
            Err(KernelError::NotEnoughMemory { bytes_available }) => Ok((1u64 << untyped_bits) - bytes_available),
            Err(e) => Err(e),
            // Cannot happen below 2^47 bytes; if it did, the probe slot now holds a cap.
            Ok(()) => Err(KernelError::IllegalOperation),
        }
    }
}

impl Kernel for SeL4 {
    fn untyped_retype(
        &mut self,
        untyped: Slot,
        ty: ObjectType,
        size_bits: u8,
        dest: Slot,
        count: u32,
    ) -> Result<(), KernelError> {
        let (cnode, offset) = self.window(dest);
        Cap::<Untyped>::from_cptr(CPtr::from_bits(untyped.0 as Word))
            // The caller's size_bits goes to the kernel as is: it range-checks it for every type.
            .untyped_retype_with_size_arg(ty, size_bits as Word, &cnode, offset, count as usize)
    }

    fn cnode_delete(&mut self, slot: Slot) -> Result<(), KernelError> {
        self.slot(slot).delete()
    }

    fn cnode_revoke(&mut self, slot: Slot) -> Result<(), KernelError> {
        self.slot(slot).revoke()
    }
}
