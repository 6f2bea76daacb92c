//! sel4-core-lab: evaluation of core's placement, apart from the product: the [`strategy`]
//! trait that core's allocator and the [`baselines`] it is compared with implement, the
//! allocation [`trace`] format and its generator, [`replay`] of a trace against any kernel
//! (the host model or, inside a self-test root task, the real kernel with a per-operation
//! [`replay_log`]), the [`shipped`] traces and layouts, and host rigs (`rig`, feature `std`) that put core's
//! allocator over the kernel model of a layout, and `child_model` (feature `std`), a child's
//! PD on the kernel model that core's sessions are tested against.
#![no_std]

pub mod baselines;
#[cfg(any(test, feature = "std"))]
pub mod child_model;
pub mod replay;
pub mod replay_log;
#[cfg(any(test, feature = "std"))]
pub mod rig;
pub mod shipped;
pub mod strategy;
pub mod trace;

#[cfg(test)]
mod measure;
