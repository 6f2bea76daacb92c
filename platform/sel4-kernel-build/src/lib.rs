//! Obtains the seL4 5.0.0 kernel source through cargo (the tree bundled in
//! crates.io `sel4-sys =0.0.28`, never built) and builds the kernel from it.
//!
//! Kernel configurations are C headers in `config/<name>/autoconf.h`;
//! [`config_header`] and [`config_names`] are what build scripts use to pick
//! the same configuration the kernel is built with.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Version of the crate whose bundled `seL4/` tree is our kernel source.
pub const SEL4_SYS_VERSION: &str = "0.0.28";

#[derive(Debug)]
pub enum Error {
    /// A tool could not be started or failed; the message says which and why.
    Tool(String),
    /// Something expected on disk is missing.
    Missing(String),
    /// No configuration of that name exists.
    UnknownConfig { name: String, known: Vec<String> },
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Tool(m) => write!(f, "{m}"),
            Error::Missing(m) => write!(f, "{m}"),
            Error::UnknownConfig { name, known } => write!(
                f,
                "unknown kernel configuration `{name}`; known configurations: {}",
                known.join(", ")
            ),
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

/// Directory holding one folder per kernel configuration.
pub fn config_root() -> PathBuf {
    crate_dir().join("config")
}

/// Names of all kernel configurations (folders of `config/` holding an
/// `autoconf.h`), sorted.
pub fn config_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(config_root())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("autoconf.h").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Path of the `autoconf.h` of configuration `name` (e.g. `debug`, `release`).
/// The folder holding it goes first on the kernel's include path.
pub fn config_header(name: &str) -> Result<PathBuf, Error> {
    let known = config_names();
    if !known.iter().any(|k| k == name) {
        return Err(Error::UnknownConfig { name: name.to_string(), known });
    }
    Ok(config_root().join(name).join("autoconf.h"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo_home() -> PathBuf {
    if let Ok(h) = std::env::var("CARGO_HOME") {
        return PathBuf::from(h);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    Path::new(&home).join(".cargo")
}

/// Finds the unpacked `sel4-sys` crate in cargo's registry, if present.
fn find_unpacked() -> Option<PathBuf> {
    let src = cargo_home().join("registry").join("src");
    let entries = std::fs::read_dir(&src).ok()?;
    for index in entries.flatten() {
        let tree = index
            .path()
            .join(format!("sel4-sys-{SEL4_SYS_VERSION}"))
            .join("seL4");
        if tree.join("libsel4").join("include").join("interfaces").join("sel4.xml").is_file() {
            return Some(tree);
        }
    }
    None
}

/// The pristine (unpatched, read-only) kernel tree in cargo's registry,
/// fetched with `cargo fetch` on first use. Never modify it: copy it first.
pub fn pristine_source_dir() -> Result<PathBuf, Error> {
    if let Some(tree) = find_unpacked() {
        return Ok(tree);
    }
    let manifest = crate_dir().join("kernel-source").join("Cargo.toml");
    eprintln!("sel4-kernel-build: fetching sel4-sys {SEL4_SYS_VERSION} (kernel source) through cargo");
    let status = Command::new(cargo())
        .arg("fetch")
        .arg("--manifest-path")
        .arg(&manifest)
        .status()
        .map_err(|e| Error::Tool(format!("cannot run cargo fetch: {e}")))?;
    if !status.success() {
        return Err(Error::Tool(format!(
            "`cargo fetch --manifest-path {}` failed ({status}); is crates.io reachable?",
            manifest.display()
        )));
    }
    find_unpacked().ok_or_else(|| {
        Error::Missing(format!(
            "cargo fetched sel4-sys {SEL4_SYS_VERSION} but its seL4/ tree was not found under {}",
            cargo_home().join("registry/src").display()
        ))
    })
}
