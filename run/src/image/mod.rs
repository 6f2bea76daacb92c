//! What a boot loads: the seL4 kernel of a configuration, the root-task
//! image a scenario names and the services it hands core, each built with
//! cargo or the kernel's build.

pub mod freestanding;
pub mod kernel;
pub mod packages;
pub mod root_task;
pub mod services;
