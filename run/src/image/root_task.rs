//! Builds the root-task image a scenario boots, for one kernel configuration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::image::freestanding::{self, Build};
use crate::image::packages::{self, Kind};
use crate::image::services;
use crate::scenario::Scenario;
use crate::workspace;

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

/// The image a scenario boots: its features, its services' description if it names services
/// (`CORE_SYSTEM`, read by core's build script) and, if given, the trace the image embeds
/// (`CORE_TRACE`, read by the self-tests' build script). The ELF is copied to a name of its
/// own (image, scenario and trace), so a later build of another variant in the same folder
/// cannot change it before it boots.
pub fn build_scenario(s: &Scenario, trace: Option<&Path>) -> anyhow::Result<PathBuf> {
    let features: Vec<&str> = s.features.iter().map(String::as_str).collect();
    let mut env: Vec<(&str, OsString)> = Vec::new();
    if let Some(t) = trace {
        let abs = std::fs::canonicalize(t).map_err(|e| anyhow::anyhow!("trace {}: {e}", t.display()))?;
        env.push(("CORE_TRACE", abs.into_os_string()));
    }
    if let Some(system) = services::build_system(s)? {
        env.push(("CORE_SYSTEM", system.into_os_string()));
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
/// and feature set, so the plain image and a variant never overwrite each other while one
/// boots. `env` goes to the image's build (`CORE_TRACE`, `CORE_SYSTEM`).
pub fn build_with(image: &str, config: &str, features: &[&str], env: &[(&str, OsString)]) -> anyhow::Result<PathBuf> {
    let found = packages::find(image, Kind::RootTask)?;
    let mut target_dir = workspace::freestanding_target_dir(config);
    if !features.is_empty() {
        target_dir.as_mut_os_string().push(format!("+{}", features.join("+")));
    }
    freestanding::build(&Build { image: &found, kind: Kind::RootTask, features, config, target_dir: &target_dir, env })
}
