//! Object types (the numbers Untyped_Retype takes, which depend on the
//! configuration) and blueprints (type plus size) with their physical sizes
//! (`src/object/objecttype.c:getObjectSize`, `src/arch/x86/object/objecttype.c:Arch_getObjectSize`).

use crate::{sys, Word};

/// A retypeable object type of this configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Untyped,
    Tcb,
    Endpoint,
    Notification,
    CNode,
    Pdpt,
    Pml4,
    /// 1 GiB frame (only with `CONFIG_HUGE_PAGE`).
    #[cfg(sel4_cfg_huge_page)]
    HugePage,
    Frame4K,
    LargePage,
    PageTable,
    PageDirectory,
    #[cfg(sel4_cfg_iommu)]
    IoPageTable,
}

impl ObjectType {
    /// The number passed as Retype's `type` (`seL4_ObjectType`).
    pub const fn into_word(self) -> Word {
        match self {
            ObjectType::Untyped => sys::seL4_UntypedObject,
            ObjectType::Tcb => sys::seL4_TCBObject,
            ObjectType::Endpoint => sys::seL4_EndpointObject,
            ObjectType::Notification => sys::seL4_NotificationObject,
            ObjectType::CNode => sys::seL4_CapTableObject,
            ObjectType::Pdpt => sys::seL4_X86_PDPTObject,
            ObjectType::Pml4 => sys::seL4_X64_PML4Object,
            #[cfg(sel4_cfg_huge_page)]
            ObjectType::HugePage => sys::seL4_X64_HugePageObject,
            ObjectType::Frame4K => sys::seL4_X86_4K,
            ObjectType::LargePage => sys::seL4_X86_LargePageObject,
            ObjectType::PageTable => sys::seL4_X86_PageTableObject,
            ObjectType::PageDirectory => sys::seL4_X86_PageDirectoryObject,
            #[cfg(sel4_cfg_iommu)]
            ObjectType::IoPageTable => sys::seL4_X86_IOPageTableObject,
        }
    }

    /// Whether a device untyped may be retyped into this type
    /// (`src/object/untyped.c:decodeUntypedInvocation`: frames and untypeds only).
    pub const fn allowed_from_device(self) -> bool {
        match self {
            ObjectType::Untyped | ObjectType::Frame4K | ObjectType::LargePage => true,
            #[cfg(sel4_cfg_huge_page)]
            ObjectType::HugePage => true,
            _ => false,
        }
    }
}

/// An object to create: its type and, for variable-sized types, its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectBlueprint {
    /// `size_bits` = log2 bytes (`seL4_MinUntypedBits`..=`seL4_MaxUntypedBits`).
    Untyped {
        size_bits: usize,
    },
    Tcb,
    Endpoint,
    Notification,
    /// `size_bits` = log2 slots (radix).
    CNode {
        size_bits: usize,
    },
    Pdpt,
    Pml4,
    #[cfg(sel4_cfg_huge_page)]
    HugePage,
    Frame4K,
    LargePage,
    PageTable,
    PageDirectory,
    #[cfg(sel4_cfg_iommu)]
    IoPageTable,
}

/// Smallest and largest untyped (`seL4_MinUntypedBits`, `seL4_MaxUntypedBits`).
pub const MIN_UNTYPED_BITS: usize = sys::seL4_MinUntypedBits as usize;
pub const MAX_UNTYPED_BITS: usize = sys::seL4_MaxUntypedBits as usize;
/// log2 bytes of one CNode slot (`seL4_SlotBits`).
pub const SLOT_BITS: usize = sys::seL4_SlotBits as usize;

impl ObjectBlueprint {
    pub const fn ty(self) -> ObjectType {
        match self {
            ObjectBlueprint::Untyped { .. } => ObjectType::Untyped,
            ObjectBlueprint::Tcb => ObjectType::Tcb,
            ObjectBlueprint::Endpoint => ObjectType::Endpoint,
            ObjectBlueprint::Notification => ObjectType::Notification,
            ObjectBlueprint::CNode { .. } => ObjectType::CNode,
            ObjectBlueprint::Pdpt => ObjectType::Pdpt,
            ObjectBlueprint::Pml4 => ObjectType::Pml4,
            #[cfg(sel4_cfg_huge_page)]
            ObjectBlueprint::HugePage => ObjectType::HugePage,
            ObjectBlueprint::Frame4K => ObjectType::Frame4K,
            ObjectBlueprint::LargePage => ObjectType::LargePage,
            ObjectBlueprint::PageTable => ObjectType::PageTable,
            ObjectBlueprint::PageDirectory => ObjectType::PageDirectory,
            #[cfg(sel4_cfg_iommu)]
            ObjectBlueprint::IoPageTable => ObjectType::IoPageTable,
        }
    }

    /// Retype's `size_bits` argument (0 for fixed-size types, which ignore it).
    pub const fn api_size_bits(self) -> usize {
        match self {
            ObjectBlueprint::Untyped { size_bits } | ObjectBlueprint::CNode { size_bits } => size_bits,
            _ => 0,
        }
    }

    /// log2 of the object's size in bytes; objects are aligned to it.
    pub const fn physical_size_bits(self) -> usize {
        (match self {
            ObjectBlueprint::Untyped { size_bits } => return size_bits,
            ObjectBlueprint::CNode { size_bits } => return size_bits + SLOT_BITS,
            ObjectBlueprint::Tcb => sys::seL4_TCBBits,
            ObjectBlueprint::Endpoint => sys::seL4_EndpointBits,
            ObjectBlueprint::Notification => sys::seL4_NotificationBits,
            ObjectBlueprint::Pdpt => sys::seL4_PDPTBits,
            ObjectBlueprint::Pml4 => sys::seL4_PML4Bits,
            #[cfg(sel4_cfg_huge_page)]
            ObjectBlueprint::HugePage => sys::seL4_HugePageBits,
            ObjectBlueprint::Frame4K => sys::seL4_PageBits,
            ObjectBlueprint::LargePage => sys::seL4_LargePageBits,
            ObjectBlueprint::PageTable => sys::seL4_PageTableBits,
            ObjectBlueprint::PageDirectory => sys::seL4_PageDirBits,
            #[cfg(sel4_cfg_iommu)]
            ObjectBlueprint::IoPageTable => sys::seL4_IOPageTableBits,
        }) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(ObjectBlueprint::Tcb.physical_size_bits(), 11);
        assert_eq!(ObjectBlueprint::Endpoint.physical_size_bits(), 4);
        assert_eq!(ObjectBlueprint::Notification.physical_size_bits(), 5);
        assert_eq!(ObjectBlueprint::CNode { size_bits: 5 }.physical_size_bits(), 10);
        assert_eq!(ObjectBlueprint::Untyped { size_bits: 13 }.physical_size_bits(), 13);
        assert_eq!(ObjectBlueprint::LargePage.physical_size_bits(), 21);
        assert_eq!(ObjectBlueprint::CNode { size_bits: 5 }.api_size_bits(), 5);
        assert_eq!(ObjectBlueprint::Frame4K.api_size_bits(), 0);
    }

    /// Type numbers are dense from 0 and all differ (the enum order is the
    /// kernel's, so any shift from a config shows up here and in the C check).
    #[test]
    fn type_numbers_are_distinct_and_below_the_count() {
        let all = [
            ObjectType::Untyped,
            ObjectType::Tcb,
            ObjectType::Endpoint,
            ObjectType::Notification,
            ObjectType::CNode,
            ObjectType::Pdpt,
            ObjectType::Pml4,
            #[cfg(sel4_cfg_huge_page)]
            ObjectType::HugePage,
            ObjectType::Frame4K,
            ObjectType::LargePage,
            ObjectType::PageTable,
            ObjectType::PageDirectory,
            #[cfg(sel4_cfg_iommu)]
            ObjectType::IoPageTable,
        ];
        let mut seen: Vec<Word> = all.iter().map(|t| t.into_word()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), all.len());
        assert!(seen.iter().all(|&n| n < sys::seL4_ObjectTypeCount));
        #[cfg(sel4_cfg_huge_page)]
        assert_eq!(ObjectType::Frame4K.into_word(), 8);
    }
}
