//! A slot of the root task's CSpace and the untypeds the kernel hands the root task at boot:
//! one descriptor type for bootinfo's untyped list, core's mirror of it, the kernel model and
//! the untyped layout files of the host tools.

use crate::{Word, PPTR_BASE};

/// A slot of the root task's CSpace: an index into its root CNode, which is a CPtr at full depth
/// (`src/kernel/boot.c` gives the root CNode the guard that makes it one).
#[derive(Copy, Clone, Eq, PartialEq, Ord, PartialOrd, Hash, Debug)]
pub struct Slot(pub u32);

/// One untyped the kernel hands the root task at boot (`seL4_UntypedDesc`: physical address,
/// size, whether it is device memory) and the slot holding its cap.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub struct UntypedDesc {
    pub slot: Slot,
    pub paddr: Word,
    pub size_bits: u8,
    pub is_device: bool,
}

impl UntypedDesc {
    /// Bytes it covers.
    pub fn size(&self) -> u128 {
        1u128 << self.size_bits
    }

    /// Its end (saturating at 2^64).
    pub fn end(&self) -> u64 {
        self.paddr.saturating_add(1u64 << self.size_bits)
    }

    /// Aligned to its own size physically (every RAM untyped is).
    pub fn naturally_aligned(&self) -> bool {
        self.paddr & ((1u64 << self.size_bits) - 1) == 0
    }

    /// Aligned to its own size by kernel virtual address, as the kernel cuts every boot untyped
    /// ([`kernel_aligned`]): one that is not could never come from a real boot.
    pub fn kernel_aligned(&self) -> bool {
        kernel_aligned(self.paddr, self.size_bits)
    }
}

/// The kernel virtual address of a physical address, wrapping as the kernel's arithmetic does.
/// Boot untypeds are cut by the alignment of this address (`src/arch/x86/kernel/boot.c` converts
/// regions with `paddr_to_pptr_reg`, then `src/kernel/boot.c:create_untypeds_for_region` uses
/// `ctz(start)`), and retype aligns objects by it (`src/object/untyped.c:decodeUntypedInvocation`,
/// `alignUp(freeRef, objectSize)` on the kernel pointer). Above 512 GiB the two alignments differ
/// for blocks larger than 2^39 (e.g. a 2^40-byte device untyped at 0x180_0000_0000).
pub fn kernel_vaddr(paddr: u64) -> u64 {
    paddr.wrapping_add(PPTR_BASE)
}

/// Whether an untyped of 2^`size_bits` bytes at `paddr` is aligned the way the kernel cuts boot
/// untypeds (by [`kernel_vaddr`]): one that is not could never come from a real boot.
pub fn kernel_aligned(paddr: u64, size_bits: u8) -> bool {
    kernel_vaddr(paddr) & ((1u64 << size_bits) - 1) == 0
}
