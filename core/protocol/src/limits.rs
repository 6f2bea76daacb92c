//! The numbers requests are checked against, each with the kernel fact it comes from (seL4 5.0,
//! x86_64), so that core refuses up front what the kernel could never do.

/// log2 of the smallest frame, 4 KiB (`seL4_PageBits`): dataspace sizes and every address a
/// request names for memory are multiples of it.
pub const PAGE_BITS: u8 = 12;
/// The smallest frame in bytes.
pub const PAGE_SIZE: u64 = 1 << PAGE_BITS;
/// log2 of a large frame, 2 MiB (`seL4_LargePageBits`).
pub const LARGE_PAGE_BITS: u8 = 21;
/// log2 of a huge frame, 1 GiB (`seL4_HugePageBits`); the kernel has it only with
/// `CONFIG_HUGE_PAGE`, so a dataspace reply says which frames it is built from.
pub const HUGE_PAGE_BITS: u8 = 30;

/// User virtual addresses lie below 2^47: the lower half of x86_64's 48-bit canonical address
/// space (the kernel keeps the upper half), so nothing can be mapped or run at or above it.
pub const VADDR_BITS: u8 = 47;
/// The first virtual address a client cannot use.
pub const VADDR_LIMIT: u64 = 1 << VADDR_BITS;

/// log2 of the largest object the kernel creates (`seL4_MaxUntypedBits` on x86_64).
pub const MAX_UNTYPED_BITS: u8 = 47;
/// The strongest physical alignment a RAM allocation may ask for: that of the largest block the
/// kernel can describe; more has no use and would only let aligning up overflow.
pub const MAX_ALIGN_LOG2: u8 = MAX_UNTYPED_BITS;

/// log2 of the bytes one CNode slot takes (`seL4_SlotBits` on 64-bit).
pub const SLOT_BITS: u8 = 5;
/// `Untyped_Retype` refuses a CNode of 2^0 slots ("CapTable size too small").
pub const MIN_CNODE_LOG2_SLOTS: u8 = 1;
/// `Untyped_Retype` takes object sizes up to `seL4_MaxUntypedBits` (47), but a CNode of 2^k slots
/// fills 2^(k + [`SLOT_BITS`]) bytes and no untyped is larger than 2^47 bytes, so 2^42 slots is
/// the largest CNode that can exist; asking for more is a bad argument, not a lack of memory.
pub const MAX_CNODE_LOG2_SLOTS: u8 = MAX_UNTYPED_BITS - SLOT_BITS;

/// The highest thread priority (`seL4_MaxPrio`; every configuration has
/// `CONFIG_NUM_PRIORITIES` = 256). A client's threads are further capped at its own priority.
pub const MAX_PRIO: u8 = 255;

/// A new thread's stack pointer is aligned like the first thread's (see [`crate::abi`]).
pub const STACK_ALIGN: u64 = 16;
