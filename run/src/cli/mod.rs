//! The verbs of the command line, one module each; nothing below imports them.

pub mod bench;
pub mod boot;
pub mod demo;
pub mod iso;
pub mod kernel;
pub mod map;
pub mod profile;
pub mod soak;
pub mod test;
pub mod trace;
