//! Which workspace package builds a root-task image: the image is a binary
//! of a package with a `root-task` feature, found in `cargo metadata`.

use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::workspace;

/// The cargo feature every root-task package has (it pulls in the
/// freestanding platform crates).
pub const ROOT_TASK_FEATURE: &str = "root-task";

/// A root-task image: binary `bin` of package `package`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub package: String,
    pub bin: String,
}

/// The package whose binary `name` is, asking cargo about the workspace.
pub fn find(name: &str) -> Result<Image> {
    let out = Command::new(workspace::cargo())
        .current_dir(workspace::root())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| anyhow!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        bail!("cargo metadata failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    let metadata: Value = serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")?;
    owner(&metadata, name)
}

/// Every binary of every package in `metadata`, with whether its package
/// has the root-task feature.
fn binaries(metadata: &Value) -> Result<Vec<(Image, bool)>> {
    let packages = metadata["packages"].as_array().ok_or_else(|| anyhow!("cargo metadata lists no packages"))?;
    let mut out = Vec::new();
    for p in packages {
        let package = p["name"].as_str().ok_or_else(|| anyhow!("cargo metadata: a package without a name"))?;
        let root_task = p["features"].get(ROOT_TASK_FEATURE).is_some();
        let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
        for t in targets {
            let is_bin = t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"));
            if let (true, Some(bin)) = (is_bin, t["name"].as_str()) {
                out.push((Image { package: package.to_string(), bin: bin.to_string() }, root_task));
            }
        }
    }
    Ok(out)
}

/// The image called `name` in `metadata` (`cargo metadata` output); an
/// unknown name lists the images there are.
pub fn owner(metadata: &Value, name: &str) -> Result<Image> {
    let all = binaries(metadata)?;
    let mut known: Vec<&str> = all.iter().filter(|(_, rt)| *rt).map(|(i, _)| i.bin.as_str()).collect();
    known.sort_unstable();
    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    match all.iter().find(|(i, _)| i.bin == name) {
        Some((image, true)) => Ok(image.clone()),
        Some((image, false)) => bail!(
            "binary `{name}` of package `{}` is no root-task image (the package has no `{ROOT_TASK_FEATURE}` \
             feature); images: {known}",
            image.package
        ),
        None => bail!("no workspace package has a binary `{name}`; images: {known}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Value {
        serde_json::json!({"packages": [
            {"name": "sel4-core", "features": {"root-task": [], "audit": ["root-task"]},
             "targets": [{"name": "sel4_core", "kind": ["lib"]}, {"name": "core", "kind": ["bin"]},
                         {"name": "placement", "kind": ["bench"]}]},
            {"name": "selftest", "features": {"root-task": []},
             "targets": [{"name": "self-ipc", "kind": ["bin"]}]},
            {"name": "run", "features": {}, "targets": [{"name": "run", "kind": ["bin"]}]},
        ]})
    }

    #[test]
    fn images_are_found_in_their_package() {
        let m = metadata();
        assert_eq!(owner(&m, "core").unwrap(), Image { package: "sel4-core".into(), bin: "core".into() });
        assert_eq!(owner(&m, "self-ipc").unwrap().package, "selftest");
    }

    #[test]
    fn unknown_names_list_the_images() {
        let m = metadata();
        let e = owner(&m, "nope").unwrap_err().to_string();
        assert_eq!(e, "no workspace package has a binary `nope`; images: core, self-ipc");
        let e = owner(&m, "placement").unwrap_err().to_string();
        assert!(e.starts_with("no workspace package has a binary `placement`"), "{e}");
        let e = owner(&m, "run").unwrap_err().to_string();
        assert!(e.starts_with("binary `run` of package `run` is no root-task image"), "{e}");
        assert!(owner(&serde_json::json!({}), "core").is_err());
    }

    #[test]
    fn this_workspace_builds_core_from_sel4_core() {
        assert_eq!(find("core").unwrap(), Image { package: "sel4-core".into(), bin: "core".into() });
    }
}
