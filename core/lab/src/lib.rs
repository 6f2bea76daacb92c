//! sel4-core-lab: evaluation of core's placement, apart from the product: the [`strategy`]
//! trait that core's allocator and the [`baselines`] it is compared with implement, the
//! allocation [`trace`] format and its generator, [`replay`] of a trace against any kernel
//! (the host model or, inside a self-test root task, the real kernel with a per-operation
//! [`replay_log`]), and the [`shipped`] traces and layouts.
#![no_std]

pub mod baselines;
pub mod replay;
pub mod replay_log;
pub mod shipped;
pub mod strategy;
pub mod trace;

#[cfg(test)]
mod measure;
