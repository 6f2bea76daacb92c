//! core: physical memory allocator, untyped pool, placement engine and kernel model (host-testable, no_std).
#![no_std]

pub mod baselines;
pub mod cap_space;
pub mod kernel;
pub mod kernel_model;
pub mod memory_map;
pub mod object;
pub mod placement;
pub mod range_allocator;
pub mod replay;
pub mod replay_log;
pub mod strategy;
pub mod trace;
pub mod untyped_pool;
