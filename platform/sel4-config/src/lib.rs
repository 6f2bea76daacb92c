//! Kernel configuration in use, as Rust constants and cfg flags generated from the config file.
#![no_std]
