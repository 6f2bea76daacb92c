//! Builds the root-task image a scenario boots, for one kernel configuration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::image::packages::{self, ROOT_TASK_FEATURE};
use crate::scenario::Scenario;
use crate::workspace;

/// The target triple of host and freestanding builds alike.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// The root task a boot of scenario `s` uses: `prebuilt` if given (it must exist), else the
/// scenario's own image built by [`build_scenario`] with `trace` embedded.
pub fn prebuilt_or_build(s: &Scenario, prebuilt: Option<&Path>, trace: Option<&Path>) -> anyhow::Result<PathBuf> {
    match prebuilt {
        Some(elf) => {
            anyhow::ensure!(elf.is_file(), "root task {} does not exist", elf.display());
            Ok(elf.to_path_buf())
        }
        None => build_scenario(s, trace),
    }
}

/// The image a scenario boots: its features and, if given, the trace the image embeds
/// (`CORE_TRACE`, read by the self-tests' build script). The ELF is copied to a name of its
/// own, so a later build of another variant in the same folder cannot change it before it
/// boots.
pub fn build_scenario(s: &Scenario, trace: Option<&Path>) -> anyhow::Result<PathBuf> {
    let features: Vec<&str> = s.features.iter().map(String::as_str).collect();
    let mut env: Vec<(&str, OsString)> = Vec::new();
    if let Some(t) = trace {
        let abs = std::fs::canonicalize(t).map_err(|e| anyhow::anyhow!("trace {}: {e}", t.display()))?;
        env.push(("CORE_TRACE", abs.into_os_string()));
    }
    let elf = build_with(&s.image, &s.config, &features, &env)?;
    let mut name = format!("{}-{}", s.image, s.name);
    if let Some(stem) = trace.and_then(|t| t.file_stem()) {
        name.push('-');
        name.push_str(&stem.to_string_lossy());
    }
    let copy = elf.with_file_name(name);
    std::fs::copy(&elf, &copy).map_err(|e| anyhow::anyhow!("copy {} to {}: {e}", elf.display(), copy.display()))?;
    Ok(copy)
}

/// Builds binary `image` of the workspace package that has it (feature
/// `root-task` plus `features`) with kernel configuration `config`, showing
/// cargo's progress, and returns the ELF's path. A target folder of its own per configuration
/// and feature set keeps the static relocation model off host builds and
/// build scripts (RUSTFLAGS apply only to the `--target` artefacts), and the
/// plain image and a variant never overwrite each other while one boots.
/// `env` goes to the image's build (`CORE_TRACE`).
pub fn build_with(image: &str, config: &str, features: &[&str], env: &[(&str, OsString)]) -> anyhow::Result<PathBuf> {
    let package = packages::find(image)?.package;
    let mut target_dir = workspace::freestanding_target_dir(config);
    if !features.is_empty() {
        target_dir.as_mut_os_string().push(format!("+{}", features.join("+")));
    }
    let all_features = std::iter::once(ROOT_TASK_FEATURE).chain(features.iter().copied()).collect::<Vec<_>>().join(",");
    eprintln!("run: building root task `{image}` ({package}) for the `{config}` kernel");
    let status = Command::new(workspace::cargo())
        .current_dir(workspace::root())
        .args(["build", "--release", "-p", &package, "--bin", image, "--features", &all_features])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", "-C relocation-model=static")
        // Would take precedence over RUSTFLAGS if inherited from an outer cargo.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("SEL4_CONFIG", config)
        .env_remove("CORE_TRACE")
        .envs(env.iter().map(|(k, v)| (*k, v)))
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
