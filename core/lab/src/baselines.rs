//! The placement schemes core is measured against, each modelled on its
//! source and driven through [`crate::strategy::Strategy`] like core's own:
//! [`freeindex`] (plain FreeIndex placement, no padding), [`buddy`]
//! (seL4_libs allocman's buddy splitting) and [`genode`] (Genode
//! base-sel4's 4 KiB untyped pages).

pub mod buddy;
pub mod freeindex;
pub mod genode;
pub mod roots;
pub mod slab;
