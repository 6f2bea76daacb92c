//! The machine: QEMU's PC with its firmware, the GRUB image it boots from a
//! CD, and the QEMU process whose serial output and exit it reports.

pub mod firmware;
pub mod iso;
pub mod pc;
pub mod qemu;
