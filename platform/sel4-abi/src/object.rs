//! The object types `Untyped_Retype` creates, their type numbers (which
//! depend on the configuration) and sizes, and the limits Retype checks.
//!
//! Sizes follow `src/object/objecttype.c:getObjectSize`,
//! `src/arch/x86/object/objecttype.c:Arch_getObjectSize` and
//! `src/arch/x86/64/object/objecttype.c:Mode_getObjectSize`; argument checks
//! follow `src/object/untyped.c:decodeUntypedInvocation`.

use core::fmt;

use crate::{narrow, sys, Error, Word, WORD_BITS};

/// log2 bytes of one CNode slot (`seL4_SlotBits`).
pub const SLOT_BITS: u8 = narrow(sys::seL4_SlotBits);
/// Smallest untyped Retype creates (`seL4_MinUntypedBits`; `decodeUntypedInvocation`).
pub const MIN_UNTYPED_BITS: u8 = narrow(sys::seL4_MinUntypedBits);
/// Largest `size_bits` argument Retype accepts (`seL4_MaxUntypedBits`; `decodeUntypedInvocation`).
pub const MAX_UNTYPED_BITS: u8 = narrow(sys::seL4_MaxUntypedBits);
/// Most objects one Retype creates (`CONFIG_RETYPE_FAN_OUT_LIMIT`, a Kconfig
/// option with `include/config.h`'s fallback; `decodeUntypedInvocation`).
pub const RETYPE_FAN_OUT_LIMIT: u32 = {
    let v = crate::kernel::CONFIG_RETYPE_FAN_OUT_LIMIT;
    assert!(v <= u32::MAX as u64);
    v as u32
};

/// An object type `Untyped_Retype` creates. Every type can be named on every
/// configuration; [`ObjectType::into_word`] says whether this kernel has it
/// (1 GiB frames only with `CONFIG_HUGE_PAGE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectType {
    Untyped,
    Tcb,
    Endpoint,
    Notification,
    CNode,
    /// 4 KiB frame (`seL4_X86_4K`).
    Frame4K,
    /// 2 MiB frame (`seL4_X86_LargePageObject`).
    Frame2M,
    /// 1 GiB frame (`seL4_X64_HugePageObject`), only with `CONFIG_HUGE_PAGE`.
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

    /// The type's number in libsel4's headers, whether or not this
    /// configuration has the type.
    const fn c_number(self) -> Word {
        match self {
            ObjectType::Untyped => sys::seL4_UntypedObject,
            ObjectType::Tcb => sys::seL4_TCBObject,
            ObjectType::Endpoint => sys::seL4_EndpointObject,
            ObjectType::Notification => sys::seL4_NotificationObject,
            ObjectType::CNode => sys::seL4_CapTableObject,
            ObjectType::Frame4K => sys::seL4_X86_4K,
            ObjectType::Frame2M => sys::seL4_X86_LargePageObject,
            // Without CONFIG_HUGE_PAGE libsel4 defines this as a number no type has.
            ObjectType::Frame1G => sys::seL4_X64_HugePageObject,
            ObjectType::PageTable => sys::seL4_X86_PageTableObject,
            ObjectType::PageDirectory => sys::seL4_X86_PageDirectoryObject,
            ObjectType::Pdpt => sys::seL4_X86_PDPTObject,
            ObjectType::Pml4 => sys::seL4_X64_PML4Object,
        }
    }

    /// The number passed as Retype's `type` argument (`seL4_ObjectType`), or
    /// `None` if this configuration has no such type: the kernel knows the
    /// numbers below `seL4_ObjectTypeCount` (`decodeUntypedInvocation`).
    pub const fn into_word(self) -> Option<Word> {
        let n = self.c_number();
        if n < sys::seL4_ObjectTypeCount {
            Some(n)
        } else {
            None
        }
    }

    /// The type with Retype number `word`, if this configuration has one.
    pub fn from_word(word: Word) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.into_word() == Some(word))
    }

    /// Lower-case name (`frame_4k`, `page_directory`, ...), as trace files write it.
    pub const fn name(self) -> &'static str {
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

    /// The type called `name` (see [`ObjectType::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether Retype's `size_bits` argument means something for this type
    /// (Untyped: log2 bytes; CNode: log2 slots). Every other type ignores it
    /// once it passes the range check.
    pub const fn has_variable_size(self) -> bool {
        matches!(self, ObjectType::Untyped | ObjectType::CNode)
    }

    /// log2 bytes of a fixed-size type (`getObjectSize`: `seL4_TCBBits`,
    /// `seL4_EndpointBits`, ..., the frame sizes of `Arch_getObjectSize` and
    /// `Mode_getObjectSize`); `None` for Untyped and CNode.
    pub const fn fixed_bits(self) -> Option<u8> {
        Some(narrow(match self {
            ObjectType::Untyped | ObjectType::CNode => return None,
            ObjectType::Tcb => sys::seL4_TCBBits,
            ObjectType::Endpoint => sys::seL4_EndpointBits,
            ObjectType::Notification => sys::seL4_NotificationBits,
            ObjectType::Frame4K => sys::seL4_PageBits,
            ObjectType::Frame2M => sys::seL4_LargePageBits,
            ObjectType::Frame1G => sys::seL4_HugePageBits,
            ObjectType::PageTable => sys::seL4_PageTableBits,
            ObjectType::PageDirectory => sys::seL4_PageDirBits,
            ObjectType::Pdpt => sys::seL4_PDPTBits,
            ObjectType::Pml4 => sys::seL4_PML4Bits,
        }))
    }

    /// log2 bytes of the object Retype makes from `size_bits`; objects are
    /// aligned to their size. Makes the argument checks
    /// `decodeUntypedInvocation` makes before it looks at the destination
    /// and the untyped, in its order: a type this configuration lacks is
    /// InvalidArgument 0; `size_bits > seL4_MaxUntypedBits` is a RangeError
    /// from 0 to `wordBits - 3` (whatever the type); a CNode of radix 0 and
    /// an Untyped below `seL4_MinUntypedBits` are InvalidArgument 1. Then
    /// `getObjectSize`. A result of `wordBits` or more is not refused here:
    /// the kernel refuses it with NotEnoughMemory after its memory check.
    pub const fn object_bits(self, size_bits: u8) -> Result<u8, Error> {
        if self.into_word().is_none() {
            return Err(Error::InvalidArgument { which: 0 });
        }
        if size_bits > MAX_UNTYPED_BITS {
            return Err(Error::RangeError { min: 0, max: WORD_BITS as Word - 3 });
        }
        match self {
            ObjectType::CNode if size_bits == 0 => Err(Error::InvalidArgument { which: 1 }),
            ObjectType::Untyped if size_bits < MIN_UNTYPED_BITS => Err(Error::InvalidArgument { which: 1 }),
            ObjectType::Untyped => Ok(size_bits),
            // 2^radix slots of 2^seL4_SlotBits bytes.
            ObjectType::CNode => Ok(size_bits + SLOT_BITS),
            _ => match self.fixed_bits() {
                Some(b) => Ok(b),
                None => unreachable!(),
            },
        }
    }

    /// The `size_bits` argument that makes an object of 2^`bits` bytes of
    /// this type (the inverse of [`ObjectType::object_bits`]; 0 for
    /// fixed-size types), if there is one.
    pub const fn size_bits_for(self, bits: u8) -> Option<u8> {
        let size_bits = match self {
            ObjectType::Untyped => bits,
            ObjectType::CNode if bits > SLOT_BITS => bits - SLOT_BITS,
            ObjectType::CNode => return None,
            _ => 0,
        };
        match self.object_bits(size_bits) {
            Ok(b) if b == bits => Some(size_bits),
            _ => None,
        }
    }

    /// Whether a device untyped may be retyped into this type: only frames
    /// and untypeds (`decodeUntypedInvocation` with
    /// `src/arch/x86/64/object/objecttype.c:Arch_isFrameType`).
    pub const fn allowed_from_device(self) -> bool {
        matches!(self, ObjectType::Untyped | ObjectType::Frame4K | ObjectType::Frame2M | ObjectType::Frame1G)
    }

    /// A frame of any size (`Arch_isFrameType`).
    pub const fn is_frame(self) -> bool {
        matches!(self, ObjectType::Frame4K | ObjectType::Frame2M | ObjectType::Frame1G)
    }

    /// The paging structure an object of this type is mapped into on x86_64: a 4 KiB frame
    /// into a page table, a 2 MiB frame or a page table into a page directory, a 1 GiB frame
    /// or a page directory into a PDPT, a PDPT into the PML4, which is the VSpace itself
    /// (`None`, as for what is never mapped). The kernel's `lookupPTSlot`, `lookupPDSlot` and
    /// `lookupPDPTSlot` (`src/arch/x86/64/kernel/vspace.c`) fail where it is missing.
    pub const fn paging_parent(self) -> Option<ObjectType> {
        match self {
            ObjectType::Frame4K => Some(ObjectType::PageTable),
            ObjectType::Frame2M | ObjectType::PageTable => Some(ObjectType::PageDirectory),
            ObjectType::Frame1G | ObjectType::PageDirectory => Some(ObjectType::Pdpt),
            _ => None,
        }
    }

    /// log2 of the virtual addresses an object of this type covers where it is mapped: a
    /// frame its own size, a paging structure all its entries (of 8 bytes each, so
    /// `bits - 3` index bits more than what one entry covers: a page table what a 2 MiB frame
    /// does, a page directory what a 1 GiB frame does). `None` for what is never mapped
    /// below a VSpace.
    pub const fn vspan_bits(self) -> Option<u8> {
        match self {
            ObjectType::Frame4K | ObjectType::Frame2M | ObjectType::Frame1G => self.fixed_bits(),
            ObjectType::PageTable => ObjectType::Frame2M.fixed_bits(),
            ObjectType::PageDirectory => ObjectType::Frame1G.fixed_bits(),
            ObjectType::Pdpt => Some(narrow(sys::seL4_HugePageBits + sys::seL4_PDPTBits - 3)),
            _ => None,
        }
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    #[test]
    fn names_round_trip() {
        for t in ObjectType::ALL {
            assert_eq!(ObjectType::from_name(t.name()), Some(t));
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!(ObjectType::from_name("frame"), None);
    }

    /// The numbers of the types this configuration has are distinct and below
    /// the count, and map back to their types.
    #[test]
    fn type_numbers_are_distinct_and_below_the_count() {
        let mut seen: Vec<Word> = ObjectType::ALL.iter().filter_map(|t| t.into_word()).collect();
        for &n in &seen {
            assert_eq!(ObjectType::from_word(n).and_then(ObjectType::into_word), Some(n));
        }
        seen.sort();
        seen.dedup();
        let missing = ObjectType::ALL.iter().filter(|t| t.into_word().is_none()).count();
        assert_eq!(seen.len() + missing, ObjectType::ALL.len());
        assert!(seen.iter().all(|&n| n < sys::seL4_ObjectTypeCount));
        // Only 1 GiB frames depend on the configuration among these types.
        assert!(missing <= 1);
        assert_eq!(ObjectType::Frame1G.into_word().is_some(), sys::seL4_X64_HugePageObject < sys::seL4_ObjectTypeCount);
    }

    #[test]
    fn sizes_follow_get_object_size() {
        assert_eq!(ObjectType::Tcb.object_bits(0), Ok(narrow(sys::seL4_TCBBits)));
        assert_eq!(ObjectType::Tcb.object_bits(MAX_UNTYPED_BITS), Ok(narrow(sys::seL4_TCBBits)), "ignored");
        assert_eq!(ObjectType::CNode.object_bits(5), Ok(5 + SLOT_BITS));
        assert_eq!(ObjectType::Untyped.object_bits(MIN_UNTYPED_BITS), Ok(MIN_UNTYPED_BITS));
        assert_eq!(ObjectType::Untyped.object_bits(MAX_UNTYPED_BITS), Ok(MAX_UNTYPED_BITS));
        assert_eq!(ObjectType::Frame2M.object_bits(0), Ok(narrow(sys::seL4_LargePageBits)));
    }

    #[test]
    fn size_argument_errors_follow_decode_untyped_invocation() {
        let range = Error::RangeError { min: 0, max: sys::seL4_WordBits - 3 };
        for t in ObjectType::ALL.into_iter().filter(|t| t.into_word().is_some()) {
            assert_eq!(t.object_bits(MAX_UNTYPED_BITS + 1), Err(range), "{t}");
        }
        assert_eq!(ObjectType::CNode.object_bits(0), Err(Error::InvalidArgument { which: 1 }));
        assert_eq!(ObjectType::Untyped.object_bits(MIN_UNTYPED_BITS - 1), Err(Error::InvalidArgument { which: 1 }));
        if ObjectType::Frame1G.into_word().is_none() {
            assert_eq!(ObjectType::Frame1G.object_bits(0), Err(Error::InvalidArgument { which: 0 }));
        }
    }

    #[test]
    fn size_bits_for_inverts_object_bits() {
        for t in ObjectType::ALL {
            for sb in 0..=MAX_UNTYPED_BITS {
                if let Ok(bits) = t.object_bits(sb) {
                    let back = t.size_bits_for(bits).expect("inverse exists");
                    assert_eq!(t.object_bits(back), Ok(bits));
                }
            }
        }
        assert_eq!(ObjectType::Frame4K.size_bits_for(narrow(sys::seL4_PageBits) + 1), None);
        // A page table covers a large frame's span, a page directory a huge frame's, a PDPT
        // 512 GiB; each entry of one is what its child covers.
        for t in [ObjectType::PageTable, ObjectType::PageDirectory, ObjectType::Pdpt] {
            let entries = t.fixed_bits().unwrap() - 3;
            let child = [ObjectType::Frame4K, ObjectType::PageTable, ObjectType::PageDirectory]
                .into_iter()
                .find(|c| c.paging_parent() == Some(t))
                .unwrap();
            assert_eq!(t.vspan_bits(), Some(child.vspan_bits().unwrap() + entries));
        }
        assert_eq!(ObjectType::Pdpt.vspan_bits(), Some(39));
        assert_eq!(ObjectType::Pml4.paging_parent(), None);
        assert_eq!(ObjectType::CNode.size_bits_for(SLOT_BITS), None, "radix 0");
    }

    #[test]
    fn device_memory_holds_frames_and_untypeds_only() {
        let ok: Vec<ObjectType> = ObjectType::ALL.into_iter().filter(|t| t.allowed_from_device()).collect();
        assert_eq!(ok, [ObjectType::Untyped, ObjectType::Frame4K, ObjectType::Frame2M, ObjectType::Frame1G]);
    }
}
