//! core, the root task (freestanding binary).
#![no_std]
#![no_main]
