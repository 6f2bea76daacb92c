//! channel-bench: what `channel-ping` and `channel-pong` agree on: how many round trips each
//! phase has, and the label that ends the runtime phase.
#![no_std]

/// Round trips before a phase is timed (caches, the first slow paths).
pub const WARM: u64 = 100;
/// Round trips timed per phase.
pub const ROUNDS: u64 = 2000;
/// The call that ends `channel-pong`'s runtime loop.
pub const STOP: u64 = 9;
