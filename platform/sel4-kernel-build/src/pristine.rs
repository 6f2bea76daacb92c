//! The pristine kernel source: the `seL4/` tree bundled in crates.io
//! `sel4-sys`, fetched by cargo into its registry and never modified.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use crate::{crate_dir, Error};

/// Version of the crate whose bundled `seL4/` tree is our kernel source.
pub const SEL4_SYS_VERSION: &str = "0.0.28";

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo_home() -> Result<PathBuf, Error> {
    cargo_home_from(std::env::var_os("CARGO_HOME"), std::env::var_os("HOME"))
}

/// Cargo's home: `$CARGO_HOME`, else `$HOME/.cargo`; with neither set there
/// is no registry to look in, which is an error rather than a guess.
fn cargo_home_from(cargo_home: Option<OsString>, home: Option<OsString>) -> Result<PathBuf, Error> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(h) = set(cargo_home) {
        return Ok(h);
    }
    set(home)
        .map(|h| h.join(".cargo"))
        .ok_or_else(|| Error::Missing("neither CARGO_HOME nor HOME is set: cannot find cargo's registry".into()))
}

/// Finds the unpacked `sel4-sys` crate in cargo's registry, if present.
fn find_unpacked() -> Result<Option<PathBuf>, Error> {
    let src = cargo_home()?.join("registry").join("src");
    let Ok(entries) = std::fs::read_dir(&src) else {
        return Ok(None);
    };
    for index in entries.flatten() {
        let tree = index.path().join(format!("sel4-sys-{SEL4_SYS_VERSION}")).join("seL4");
        if tree.join("libsel4").join("include").join("interfaces").join("sel4.xml").is_file() {
            return Ok(Some(tree));
        }
    }
    Ok(None)
}

/// The pristine (unpatched, read-only) kernel tree in cargo's registry,
/// fetched with `cargo fetch` on first use. Never modify it: copy it first.
pub fn pristine_source_dir() -> Result<PathBuf, Error> {
    if let Some(tree) = find_unpacked()? {
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
    find_unpacked()?.ok_or_else(|| {
        Error::Missing(format!(
            "cargo fetched sel4-sys {SEL4_SYS_VERSION} but its seL4/ tree was not found under {}",
            cargo_home().unwrap_or_default().join("registry/src").display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_home_prefers_cargo_home_then_home_and_never_guesses() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(cargo_home_from(os("/c"), os("/h")).unwrap(), PathBuf::from("/c"));
        assert_eq!(cargo_home_from(None, os("/h")).unwrap(), PathBuf::from("/h/.cargo"));
        assert_eq!(cargo_home_from(os(""), os("/h")).unwrap(), PathBuf::from("/h/.cargo"));
        for (c, h) in [(None, None), (os(""), os(""))] {
            let e = cargo_home_from(c, h).unwrap_err();
            assert!(matches!(&e, Error::Missing(m) if m.contains("CARGO_HOME") && m.contains("HOME")), "{e}");
        }
    }
}
