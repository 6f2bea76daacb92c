//! Checks of the workspace that cargo runs: the host tests, and the format
//! and lint checks CI makes.

pub mod host_tests;
pub mod lints;
