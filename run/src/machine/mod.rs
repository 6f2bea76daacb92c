//! The machine: QEMU's PC with its firmware, the GRUB image it boots from a
//! CD, the QEMU process whose serial output and exit it reports, and gdb
//! attached to it.

pub mod firmware;
pub mod gdb;
pub mod iso;
pub mod pc;
pub mod qemu;
