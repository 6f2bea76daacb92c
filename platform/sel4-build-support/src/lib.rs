//! Build-time readers of the seL4 kernel's own description of itself, shared by
//! the build scripts of `sel4-config` and `sel4-abi` and by their tests: a
//! configuration's `autoconf.h` and the preprocessor conditions that depend on
//! it ([`autoconf`]), the integer constants of libsel4's C headers
//! ([`cheader`]), the interface XML and headers turned into every kernel
//! number of a configuration ([`numbers`]), and the field layout of bitfield
//! blocks in the kernel's `.bf` files ([`bitfield`]).

#![forbid(unsafe_code)]

pub mod autoconf;
pub mod bitfield;
pub mod cheader;
pub mod numbers;
