//! The pristine kernel source: the `seL4/` tree bundled in crates.io
//! `sel4-sys`, fetched by cargo into its registry and never modified.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{crate_dir, Error};

/// Version of the crate whose bundled `seL4/` tree is our kernel source.
pub const SEL4_SYS_VERSION: &str = "0.0.28";

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
