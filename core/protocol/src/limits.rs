//! The numbers requests are checked against, each with the kernel fact it comes from (seL4 5.0,
//! x86_64), so that core refuses up front what the kernel could never do. Kernel numbers come
//! from `sel4-abi` (generated from the kernel's headers).

use sel4_abi::{sys, ObjectType};

/// `sys` values are words; these fit a byte.
const fn byte(v: u64) -> u8 {
    assert!(v <= u8::MAX as u64);
    v as u8
}

/// log2 of the smallest frame, 4 KiB (`seL4_PageBits`): dataspace sizes and every address a
/// request names for memory are multiples of it.
pub const PAGE_BITS: u8 = byte(sys::seL4_PageBits);
/// The smallest frame in bytes.
pub const PAGE_SIZE: u64 = 1 << PAGE_BITS;
/// log2 of a large frame, 2 MiB (`seL4_LargePageBits`).
pub const LARGE_PAGE_BITS: u8 = byte(sys::seL4_LargePageBits);
/// log2 of a huge frame, 1 GiB (`seL4_HugePageBits`); the kernel has it only with
/// `CONFIG_HUGE_PAGE`, so a dataspace reply says which frames it is built from.
pub const HUGE_PAGE_BITS: u8 = byte(sys::seL4_HugePageBits);

/// User virtual addresses lie below 2^47: the lower half of the 48-bit canonical address space
/// of x86_64 processors (the kernel keeps the upper half), so nothing can be mapped or run at
/// or above it. A fact of the processor, not a kernel number.
pub const VADDR_BITS: u8 = 47;
/// The first virtual address a client cannot use.
pub const VADDR_LIMIT: u64 = 1 << VADDR_BITS;

/// log2 of the largest object the kernel creates (`seL4_MaxUntypedBits` on x86_64).
pub const MAX_UNTYPED_BITS: u8 = sel4_abi::MAX_UNTYPED_BITS;
/// The strongest physical alignment a RAM allocation may ask for: that of the largest block the
/// kernel can describe; more has no use and would only let aligning up overflow.
pub const MAX_ALIGN_LOG2: u8 = MAX_UNTYPED_BITS;

/// log2 of the bytes one CNode slot takes (`seL4_SlotBits` on 64-bit).
pub const SLOT_BITS: u8 = sel4_abi::SLOT_BITS;
/// The smallest CNode `Untyped_Retype` makes (it refuses 2^0 slots, "CapTable size too
/// small"): the first size argument the kernel's rules accept.
pub const MIN_CNODE_LOG2_SLOTS: u8 = {
    let mut k = 0;
    while ObjectType::CNode.object_bits(k).is_err() {
        k += 1;
    }
    k
};
/// `Untyped_Retype` takes object sizes up to `seL4_MaxUntypedBits`, but a CNode of 2^k slots
/// fills 2^(k + [`SLOT_BITS`]) bytes and no untyped is larger than 2^47 bytes, so 2^42 slots is
/// the largest CNode that can exist (2^42 slots on x86_64); asking for more is a bad argument, not a lack of memory.
pub const MAX_CNODE_LOG2_SLOTS: u8 = MAX_UNTYPED_BITS - SLOT_BITS;

/// The highest thread priority (`seL4_MaxPrio`; every configuration has
/// `CONFIG_NUM_PRIORITIES` = 256). A client's threads are further capped at its own priority.
pub const MAX_PRIO: u8 = byte(sys::seL4_MaxPrio);

/// A new thread's stack pointer is aligned like the first thread's (see [`crate::abi`]).
pub const STACK_ALIGN: u64 = 16;
