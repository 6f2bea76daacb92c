//! The library's hand-kept object sizes and kernel limits (`sel4_core::object`,
//! `sel4_core::kernel_model`) against the numbers `platform/sel4` and `sel4-config`
//! generate from the kernel's headers for the configuration in use (env `SEL4_CONFIG`).
//! The host model and placement are only right if these agree.

use sel4::ObjectBlueprint;
use sel4_core::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS, SLOT_BITS, WORD_BITS};

/// The kernel's size in bytes (log2) of `ty` with Retype argument `size_bits`, from the generated
/// constants; `None` if the type does not exist in this configuration.
fn kernel_bits(ty: ObjectType, size_bits: u8) -> Option<usize> {
    let sb = size_bits as usize;
    let bp = match ty {
        ObjectType::Untyped => ObjectBlueprint::Untyped { size_bits: sb },
        ObjectType::Tcb => ObjectBlueprint::Tcb,
        ObjectType::Endpoint => ObjectBlueprint::Endpoint,
        ObjectType::Notification => ObjectBlueprint::Notification,
        ObjectType::CNode => ObjectBlueprint::CNode { size_bits: sb },
        ObjectType::Frame4K => ObjectBlueprint::Frame4K,
        ObjectType::Frame2M => ObjectBlueprint::LargePage,
        // `ObjectBlueprint::HugePage` exists only under the `sel4_cfg_huge_page` cfg, which this
        // test crate does not get; its size is the generated `seL4_HugePageBits`.
        ObjectType::Frame1G => {
            return sel4_config::HUGE_PAGE.then_some(sel4::sys::seL4_HugePageBits as usize);
        }
        ObjectType::PageTable => ObjectBlueprint::PageTable,
        ObjectType::PageDirectory => ObjectBlueprint::PageDirectory,
        ObjectType::Pdpt => ObjectBlueprint::Pdpt,
        ObjectType::Pml4 => ObjectBlueprint::Pml4,
    };
    Some(bp.physical_size_bits())
}

#[test]
fn object_sizes_match_the_generated_ones() {
    let mut compared = 0;
    for ty in ObjectType::ALL {
        for size_bits in 0..=MAX_UNTYPED_BITS {
            // Arguments the kernel refuses before sizing (CNode radix 0, Untyped below
            // seL4_MinUntypedBits) have no size to compare.
            let Ok(bits) = ty.object_bits(size_bits) else { continue };
            let Some(kernel) = kernel_bits(ty, size_bits) else { continue };
            assert_eq!(bits as usize, kernel, "{} with size_bits {size_bits}", ty.name());
            compared += 1;
        }
    }
    // Every fixed-size type at every size argument, untypeds and CNodes at every valid one.
    let fixed = ObjectType::ALL.iter().filter(|t| !t.has_variable_size()).count();
    let huge_missing = if sel4_config::HUGE_PAGE { 0 } else { 1 };
    let per_type = MAX_UNTYPED_BITS as usize + 1;
    let expected = (fixed - huge_missing) * per_type
        + (per_type - MIN_UNTYPED_BITS as usize) // Untyped 4..=47
        + (per_type - 1); // CNode 1..=47
    assert_eq!(compared, expected);
}

#[test]
fn fixed_sizes_match_the_generated_ones() {
    for ty in ObjectType::ALL {
        if let (Some(bits), Some(kernel)) = (ty.fixed_bits(), kernel_bits(ty, 0)) {
            assert_eq!(bits as usize, kernel, "{}", ty.name());
        }
    }
}

#[test]
fn limits_match_the_generated_ones() {
    assert_eq!(MIN_UNTYPED_BITS as usize, sel4::object::MIN_UNTYPED_BITS);
    assert_eq!(MAX_UNTYPED_BITS as usize, sel4::object::MAX_UNTYPED_BITS);
    assert_eq!(SLOT_BITS as usize, sel4::object::SLOT_BITS);
    assert_eq!(WORD_BITS as usize, sel4::WORD_BITS);
    assert_eq!(sel4_kernel_model::RETYPE_FAN_OUT_LIMIT as u64, sel4_config::RETYPE_FAN_OUT_LIMIT as u64);
}
