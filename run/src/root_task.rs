//! Builds core's freestanding root-task binary for one kernel configuration.

use std::path::PathBuf;
use std::process::Command;

use crate::workspace;

/// The target triple of host and freestanding builds alike.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds binary `image` of package sel4-core (feature `root-task`) with
/// kernel configuration `config`, showing cargo's progress, and returns the
/// ELF's path. A target folder of its own per configuration keeps the
/// static relocation model off host builds and build scripts (RUSTFLAGS
/// apply only to the `--target` artefacts).
pub fn build(image: &str, config: &str) -> anyhow::Result<PathBuf> {
    build_with_features(image, config, &[])
}

/// [`build`] with more features of sel4-core (e.g. `memory-map`). Each
/// feature set gets a target folder of its own, so the plain image and a
/// variant never overwrite each other while one of them is booting.
pub fn build_with_features(image: &str, config: &str, features: &[&str]) -> anyhow::Result<PathBuf> {
    let mut target_dir = workspace::freestanding_target_dir(config);
    if !features.is_empty() {
        target_dir.as_mut_os_string().push(format!("+{}", features.join("+")));
    }
    let all_features = std::iter::once("root-task").chain(features.iter().copied()).collect::<Vec<_>>().join(",");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("run: building root task `{image}` for the `{config}` kernel");
    let status = Command::new(cargo)
        .current_dir(workspace::root())
        .args(["build", "--release", "-p", "sel4-core", "--bin", image, "--features", &all_features])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", "-C relocation-model=static")
        // Would take precedence over RUSTFLAGS if inherited from an outer cargo.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("SEL4_CONFIG", config)
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run cargo: {e}"))?;
    if !status.success() {
        anyhow::bail!("building root task `{image}` ({config}) failed ({status})");
    }
    let elf = target_dir.join(TARGET).join("release").join(image);
    if !elf.is_file() {
        anyhow::bail!("cargo succeeded but {} does not exist", elf.display());
    }
    Ok(elf)
}
