//! Checks of the workspace that cargo runs: the host tests, the format
//! and lint checks CI makes, and the product image's size.

pub mod host_tests;
pub mod image_size;
pub mod lints;
