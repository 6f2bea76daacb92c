//! Objects to create: a type of [`ObjectType`] and, for variable-sized
//! types, its size. Sizes follow [`ObjectType::fixed_bits`]
//! (`src/object/objecttype.c:getObjectSize`).

pub use sel4_abi::ObjectType;

/// Smallest and largest untyped (`seL4_MinUntypedBits`, `seL4_MaxUntypedBits`).
pub const MIN_UNTYPED_BITS: usize = sel4_abi::MIN_UNTYPED_BITS as usize;
pub const MAX_UNTYPED_BITS: usize = sel4_abi::MAX_UNTYPED_BITS as usize;
/// log2 bytes of one CNode slot (`seL4_SlotBits`).
pub const SLOT_BITS: usize = sel4_abi::SLOT_BITS as usize;

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
    /// 1 GiB frame; a kernel without `CONFIG_HUGE_PAGE` refuses to make one
    /// (see [`ObjectType::into_word`]).
    HugePage,
    Frame4K,
    /// 2 MiB frame.
    LargePage,
    PageTable,
    PageDirectory,
}

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
            ObjectBlueprint::HugePage => ObjectType::Frame1G,
            ObjectBlueprint::Frame4K => ObjectType::Frame4K,
            ObjectBlueprint::LargePage => ObjectType::Frame2M,
            ObjectBlueprint::PageTable => ObjectType::PageTable,
            ObjectBlueprint::PageDirectory => ObjectType::PageDirectory,
        }
    }

    /// Retype's `size_bits` argument (0 for fixed-size types, which ignore it).
    pub const fn api_size_bits(self) -> usize {
        match self {
            ObjectBlueprint::Untyped { size_bits } | ObjectBlueprint::CNode { size_bits } => size_bits,
            _ => 0,
        }
    }

    /// log2 of the object's size in bytes; objects are aligned to it. Not
    /// checked against the kernel's limits ([`ObjectType::object_bits`] is).
    pub const fn physical_size_bits(self) -> usize {
        match self {
            ObjectBlueprint::Untyped { size_bits } => size_bits,
            ObjectBlueprint::CNode { size_bits } => size_bits + SLOT_BITS,
            bp => match bp.ty().fixed_bits() {
                Some(bits) => bits as usize,
                None => unreachable!(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ObjectBlueprint; 12] = [
        ObjectBlueprint::Untyped { size_bits: MIN_UNTYPED_BITS + 9 },
        ObjectBlueprint::Tcb,
        ObjectBlueprint::Endpoint,
        ObjectBlueprint::Notification,
        ObjectBlueprint::CNode { size_bits: 5 },
        ObjectBlueprint::Pdpt,
        ObjectBlueprint::Pml4,
        ObjectBlueprint::HugePage,
        ObjectBlueprint::Frame4K,
        ObjectBlueprint::LargePage,
        ObjectBlueprint::PageTable,
        ObjectBlueprint::PageDirectory,
    ];

    /// Every blueprint is one type, each type has one blueprint, and the size
    /// is the type's size for the blueprint's Retype argument.
    #[test]
    fn blueprints_map_onto_object_types() {
        let mut types: Vec<ObjectType> = ALL.iter().map(|b| b.ty()).collect();
        types.sort();
        assert_eq!(types, ObjectType::ALL);
        for bp in ALL {
            let sb = bp.api_size_bits() as u8;
            match bp.ty().object_bits(sb) {
                Ok(bits) => assert_eq!(bp.physical_size_bits(), bits as usize, "{bp:?}"),
                Err(_) => assert!(bp.ty().into_word().is_none(), "{bp:?}"),
            }
        }
        assert_eq!(ObjectBlueprint::CNode { size_bits: 5 }.physical_size_bits(), 5 + SLOT_BITS);
        assert_eq!(ObjectBlueprint::Frame4K.api_size_bits(), 0);
    }
}
