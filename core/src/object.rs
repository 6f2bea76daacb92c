//! Kernel object types and their sizes as `Untyped_Retype` sees them: the one object-type enum
//! and the limits, generated from the kernel's headers for the configuration in use
//! (`sel4-abi`), under the names the library uses.

pub use sel4_abi::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS, SLOT_BITS, WORD_BITS};
