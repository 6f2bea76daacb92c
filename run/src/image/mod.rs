//! What a boot loads: the seL4 kernel of a configuration and the root-task
//! image a scenario names, each built with cargo or the kernel's build.

pub mod kernel;
pub mod packages;
pub mod root_task;
