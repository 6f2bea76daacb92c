//! One `cargo build` of a freestanding binary (a root task or a service): release, for
//! [`TARGET`], with the static relocation model and the kernel configuration's numbers, into
//! a target folder of the caller's choice. A folder of its own keeps the static relocation
//! model off host builds and build scripts (RUSTFLAGS apply only to the `--target` artefacts)
//! and keeps variants from overwriting each other.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::image::packages::{Image, Kind};
use crate::workspace;

/// The target triple of host and freestanding builds alike.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Variables the run tool hands to freestanding builds (read by build scripts): a build gets
/// only those its caller gives, never one inherited from the shell.
const HANDED_VARIABLES: &[&str] = &["CORE_TRACE", "CORE_SYSTEM", "REQUESTS"];

/// What to build.
pub struct Build<'a> {
    pub image: &'a Image,
    pub kind: Kind,
    /// Features besides the kind's own.
    pub features: &'a [&'a str],
    /// Kernel configuration (`SEL4_CONFIG`).
    pub config: &'a str,
    pub target_dir: &'a Path,
    /// Variables for the build scripts (of [`HANDED_VARIABLES`]).
    pub env: &'a [(&'a str, OsString)],
}

/// Builds `b`, showing cargo's progress, and returns the ELF's path.
pub fn build(b: &Build) -> anyhow::Result<PathBuf> {
    let Image { package, bin } = b.image;
    let (what, config) = (b.kind.what(), b.config);
    let features = std::iter::once(b.kind.feature()).chain(b.features.iter().copied()).collect::<Vec<_>>().join(",");
    eprintln!("run: building {what} `{bin}` ({package}) for the `{config}` kernel");
    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(workspace::root())
        .args(["build", "--release", "-p", package, "--bin", bin, "--features", &features])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(b.target_dir)
        .env("RUSTFLAGS", "-C relocation-model=static")
        // Would take precedence over RUSTFLAGS if inherited from an outer cargo.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("SEL4_CONFIG", config);
    for v in HANDED_VARIABLES {
        cmd.env_remove(v);
    }
    let status =
        cmd.envs(b.env.iter().map(|(k, v)| (*k, v))).status().map_err(|e| anyhow::anyhow!("cannot run cargo: {e}"))?;
    if !status.success() {
        anyhow::bail!("building {what} `{bin}` ({config}) failed ({status})");
    }
    let elf = b.target_dir.join(TARGET).join("release").join(bin);
    if !elf.is_file() {
        anyhow::bail!("cargo succeeded but {} does not exist", elf.display());
    }
    Ok(elf)
}
