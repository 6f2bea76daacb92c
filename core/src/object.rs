//! Kernel object types of seL4 5.0 on x86_64 and their sizes, as `Untyped_Retype` sees them.
//!
//! Sizes follow `src/object/objecttype.c:getObjectSize`, `src/arch/x86/object/objecttype.c:Arch_getObjectSize`
//! and `src/arch/x86/64/object/objecttype.c:Mode_getObjectSize` (constants from
//! `include/arch/x86/arch/64/mode/api/constants.h`).

use crate::kernel::KernelError;

/// log2 of a capability slot (`cte_t`) on x86_64: 2-word cap + 2-word MDB node (`seL4_SlotBits`).
pub const SLOT_BITS: u8 = 5;
/// Smallest untyped (`seL4_MinUntypedBits`); FreeIndex is kept in units of this (`include/object/untyped.h`).
pub const MIN_UNTYPED_BITS: u8 = 4;
/// Largest untyped on x86_64 (`seL4_MaxUntypedBits`).
pub const MAX_UNTYPED_BITS: u8 = 47;
/// Machine word width; `decodeUntypedInvocation` refuses object sizes `>= wordBits`.
pub const WORD_BITS: u8 = 64;

/// Every object type `Untyped_Retype` can create on our x86_64 kernel configuration
/// (HUGE_PAGE on, VT-x off; the IOMMU page table is not used by core).
#[derive(Copy, Clone, Eq, PartialEq, Ord, PartialOrd, Hash, Debug)]
pub enum ObjectType {
    Untyped,
    Tcb,
    Endpoint,
    Notification,
    CNode,
    Frame4K,
    Frame2M,
    Frame1G,
    PageTable,
    PageDirectory,
    Pdpt,
    Pml4,
}

impl ObjectType {
    pub const ALL: [ObjectType; 12] = [
        ObjectType::Untyped,
        ObjectType::Tcb,
        ObjectType::Endpoint,
        ObjectType::Notification,
        ObjectType::CNode,
        ObjectType::Frame4K,
        ObjectType::Frame2M,
        ObjectType::Frame1G,
        ObjectType::PageTable,
        ObjectType::PageDirectory,
        ObjectType::Pdpt,
        ObjectType::Pml4,
    ];

    /// Name used in trace files.
    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Untyped => "untyped",
            ObjectType::Tcb => "tcb",
            ObjectType::Endpoint => "endpoint",
            ObjectType::Notification => "notification",
            ObjectType::CNode => "cnode",
            ObjectType::Frame4K => "frame_4k",
            ObjectType::Frame2M => "frame_2m",
            ObjectType::Frame1G => "frame_1g",
            ObjectType::PageTable => "page_table",
            ObjectType::PageDirectory => "page_directory",
            ObjectType::Pdpt => "pdpt",
            ObjectType::Pml4 => "pml4",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == s)
    }

    /// Whether `size_bits` means something for this type (Untyped: log2 bytes; CNode: log2 slots).
    /// For every other type the kernel ignores it.
    pub fn has_variable_size(self) -> bool {
        matches!(self, ObjectType::Untyped | ObjectType::CNode)
    }

    /// log2 of the object's size in bytes (`src/object/objecttype.c:getObjectSize`).
    ///
    /// Applies the argument checks `decodeUntypedInvocation` makes before it looks at the untyped
    /// (`src/object/untyped.c`): `size_bits > seL4_MaxUntypedBits` is a RangeError{0, wordBits-3}
    /// (the kernel reports 61, not 47), a CNode of radix 0 and an Untyped below 16 bytes are
    /// InvalidArgument{1}. The result may be >= 64 (e.g. a CNode of radix 47); the caller's
    /// memory check refuses that with NotEnoughMemory, as the kernel does.
    pub fn object_bits(self, size_bits: u8) -> Result<u8, KernelError> {
        if size_bits > MAX_UNTYPED_BITS {
            return Err(KernelError::RangeError { min: 0, max: (WORD_BITS - 3) as u64 });
        }
        match self {
            ObjectType::CNode if size_bits == 0 => Err(KernelError::InvalidArgument { which: 1 }),
            ObjectType::Untyped if size_bits < MIN_UNTYPED_BITS => Err(KernelError::InvalidArgument { which: 1 }),
            _ => Ok(self.fixed_bits().unwrap_or(match self {
                ObjectType::Untyped => size_bits,
                // CNode: 2^radix slots of 2^seL4_SlotBits bytes.
                _ => size_bits + SLOT_BITS,
            })),
        }
    }

    /// Size of fixed-size types (`seL4_TCBBits` 11, `seL4_EndpointBits` 4, `seL4_NotificationBits` 5,
    /// `seL4_PageBits` 12, `seL4_LargePageBits` 21, `seL4_HugePageBits` 30, paging structures 12).
    pub fn fixed_bits(self) -> Option<u8> {
        match self {
            ObjectType::Untyped | ObjectType::CNode => None,
            ObjectType::Tcb => Some(11),
            ObjectType::Endpoint => Some(4),
            ObjectType::Notification => Some(5),
            ObjectType::Frame4K => Some(12),
            ObjectType::Frame2M => Some(21),
            ObjectType::Frame1G => Some(30),
            ObjectType::PageTable | ObjectType::PageDirectory | ObjectType::Pdpt | ObjectType::Pml4 => Some(12),
        }
    }

    /// Device untypeds may only become frames or untypeds
    /// (`src/object/untyped.c:decodeUntypedInvocation`, `src/arch/x86/64/object/objecttype.c:Arch_isFrameType`).
    pub fn device_ok(self) -> bool {
        matches!(self, ObjectType::Untyped | ObjectType::Frame4K | ObjectType::Frame2M | ObjectType::Frame1G)
    }

    /// `size_bits` argument that makes an object of `bits` log2 bytes of this type, if one exists
    /// (inverse of `object_bits`).
    pub fn size_bits_for(self, bits: u8) -> Option<u8> {
        match self {
            ObjectType::Untyped if (MIN_UNTYPED_BITS..=MAX_UNTYPED_BITS).contains(&bits) => Some(bits),
            ObjectType::CNode if bits > SLOT_BITS && bits - SLOT_BITS <= MAX_UNTYPED_BITS => Some(bits - SLOT_BITS),
            ObjectType::Untyped | ObjectType::CNode => None,
            t => (t.fixed_bits() == Some(bits)).then_some(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in ObjectType::ALL {
            assert_eq!(ObjectType::from_name(t.name()), Some(t));
        }
        assert_eq!(ObjectType::from_name("frame"), None);
    }

    #[test]
    fn sizes_match_get_object_size() {
        assert_eq!(ObjectType::Tcb.object_bits(0), Ok(11));
        assert_eq!(ObjectType::Tcb.object_bits(40), Ok(11), "size_bits ignored for fixed types");
        assert_eq!(ObjectType::Endpoint.object_bits(0), Ok(4));
        assert_eq!(ObjectType::Notification.object_bits(0), Ok(5));
        assert_eq!(ObjectType::CNode.object_bits(1), Ok(6));
        assert_eq!(ObjectType::CNode.object_bits(5), Ok(10), "1 KiB CNode of 32 slots");
        assert_eq!(ObjectType::Frame2M.object_bits(0), Ok(21));
        assert_eq!(ObjectType::Frame1G.object_bits(0), Ok(30));
        assert_eq!(ObjectType::Pml4.object_bits(0), Ok(12));
        assert_eq!(ObjectType::Untyped.object_bits(4), Ok(4));
        assert_eq!(ObjectType::Untyped.object_bits(47), Ok(47));
        assert_eq!(ObjectType::CNode.object_bits(47), Ok(52));
    }

    #[test]
    fn size_argument_errors() {
        // untyped.c:decodeUntypedInvocation: userObjSize > seL4_MaxUntypedBits -> RangeError{0, wordBits-3}
        assert_eq!(ObjectType::Untyped.object_bits(48), Err(KernelError::RangeError { min: 0, max: 61 }));
        assert_eq!(ObjectType::Tcb.object_bits(48), Err(KernelError::RangeError { min: 0, max: 61 }));
        // CapTable with userObjSize == 0 -> InvalidArgument{1}
        assert_eq!(ObjectType::CNode.object_bits(0), Err(KernelError::InvalidArgument { which: 1 }));
        // Untyped with userObjSize < 4 -> InvalidArgument{1}
        assert_eq!(ObjectType::Untyped.object_bits(3), Err(KernelError::InvalidArgument { which: 1 }));
    }

    #[test]
    fn size_bits_inverse() {
        for t in ObjectType::ALL {
            for sb in 0..=MAX_UNTYPED_BITS {
                if let Ok(bits) = t.object_bits(sb) {
                    let back = t.size_bits_for(bits).expect("inverse exists");
                    assert_eq!(t.object_bits(back), Ok(bits));
                }
            }
        }
        assert_eq!(ObjectType::Frame4K.size_bits_for(13), None);
    }

    #[test]
    fn device_types() {
        let ok: usize = ObjectType::ALL.iter().filter(|t| t.device_ok()).count();
        assert_eq!(ok, 4);
        assert!(!ObjectType::Tcb.device_ok());
    }
}
