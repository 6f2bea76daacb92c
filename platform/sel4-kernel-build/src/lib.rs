//! Obtains the seL4 5.0.0 kernel source through cargo (the tree bundled in
//! crates.io `sel4-sys =0.0.28`, never built), patches it, and builds the
//! kernel and libsel4's generated headers from it for one of our
//! configurations (`config/<name>/autoconf.h`).
//!
//! Every step is cached below an output root chosen by the caller and redone
//! only when its inputs change. Missing host tools are installed with
//! apt-get.

#![forbid(unsafe_code)]

mod cache;
mod config;
mod kernel;
mod libsel4;
mod logged;
mod pristine;
mod source;
mod tools;

use std::fmt;
use std::path::PathBuf;

pub use config::{config_header, config_names, config_root};
pub use kernel::{build_kernel, KernelArtifacts};
pub use libsel4::{kconfig_from_autoconf, libsel4_eval, libsel4_headers};
pub use pristine::{pristine_source_dir, SEL4_SYS_VERSION};
pub use source::{patch_dir, patches, prepared_source};
pub use tools::{ensure_build_tools, ensure_installed, ensure_qemu, find_program, BuildTools};

#[derive(Debug)]
pub enum Error {
    /// A tool could not be started or failed; the message says which and why.
    Tool(String),
    /// Something expected on disk or on the system is missing.
    Missing(String),
    /// No configuration of that name exists.
    UnknownConfig {
        name: String,
        known: Vec<String>,
    },
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Tool(m) => write!(f, "{m}"),
            Error::Missing(m) => write!(f, "{m}"),
            Error::UnknownConfig { name, known } => {
                write!(f, "unknown kernel configuration `{name}`; known configurations: {}", known.join(", "))
            }
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// Directory of this crate (where `kernel-source/`, patches and configs live).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
