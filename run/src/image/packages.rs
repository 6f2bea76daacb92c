//! Which workspace package builds a root-task image or a service: a binary of a package with
//! a `root-task` or a `service` feature, found in `cargo metadata`.

use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::workspace;

/// The cargo feature every root-task package has (it pulls in the
/// freestanding platform crates).
pub const ROOT_TASK_FEATURE: &str = "root-task";
/// The cargo feature every service package has (it pulls in the service runtime).
pub const SERVICE_FEATURE: &str = "service";

/// What a freestanding binary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A root task the kernel starts.
    RootTask,
    /// A service core starts.
    Service,
}

impl Kind {
    /// The feature its package has, which its build turns on.
    pub fn feature(self) -> &'static str {
        match self {
            Kind::RootTask => ROOT_TASK_FEATURE,
            Kind::Service => SERVICE_FEATURE,
        }
    }

    /// What progress messages call one.
    pub fn what(self) -> &'static str {
        match self {
            Kind::RootTask => "root task",
            Kind::Service => "service",
        }
    }

    /// What errors call one, and many.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::RootTask => ("root-task image", "images"),
            Kind::Service => ("service", "services"),
        }
    }
}

/// A freestanding binary: binary `bin` of package `package`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub package: String,
    pub bin: String,
}

/// The workspace as `cargo metadata` describes it.
fn workspace_metadata() -> Result<Value> {
    let out = Command::new(workspace::cargo())
        .current_dir(workspace::root())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| anyhow!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        bail!("cargo metadata failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")
}

/// The package whose binary `name` (of kind `kind`) is, asking cargo about the workspace.
pub fn find(name: &str, kind: Kind) -> Result<Image> {
    owner(&workspace_metadata()?, name, kind)
}

/// The workspace packages that have binaries of kind `kind`.
#[cfg(test)]
pub fn packages_of(kind: Kind) -> Result<Vec<String>> {
    let mut out: Vec<String> = binaries(&workspace_metadata()?, kind.feature())?
        .into_iter()
        .filter(|(_, k)| *k)
        .map(|(i, _)| i.package)
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Every binary of every package in `metadata`, with whether its package
/// has `feature`.
fn binaries(metadata: &Value, feature: &str) -> Result<Vec<(Image, bool)>> {
    let packages = metadata["packages"].as_array().ok_or_else(|| anyhow!("cargo metadata lists no packages"))?;
    let mut out = Vec::new();
    for p in packages {
        let package = p["name"].as_str().ok_or_else(|| anyhow!("cargo metadata: a package without a name"))?;
        let has_feature = p["features"].get(feature).is_some();
        let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
        for t in targets {
            let is_bin = t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"));
            if let (true, Some(bin)) = (is_bin, t["name"].as_str()) {
                out.push((Image { package: package.to_string(), bin: bin.to_string() }, has_feature));
            }
        }
    }
    Ok(out)
}

/// The binary of kind `kind` called `name` in `metadata` (`cargo metadata` output); an
/// unknown name lists the binaries of that kind there are.
pub fn owner(metadata: &Value, name: &str, kind: Kind) -> Result<Image> {
    let feature = kind.feature();
    let (one, many) = kind.names();
    let all = binaries(metadata, feature)?;
    let mut known: Vec<&str> = all.iter().filter(|(_, of_kind)| *of_kind).map(|(i, _)| i.bin.as_str()).collect();
    known.sort_unstable();
    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    match all.iter().find(|(i, _)| i.bin == name) {
        Some((image, true)) => Ok(image.clone()),
        Some((image, false)) => bail!(
            "binary `{name}` of package `{}` is no {one} (the package has no `{feature}` feature); {many}: {known}",
            image.package
        ),
        None => bail!("no workspace package has a binary `{name}`; {many}: {known}"),
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
            {"name": "hello", "features": {"service": []}, "targets": [{"name": "hello", "kind": ["bin"]}]},
        ]})
    }

    #[test]
    fn images_are_found_in_their_package() {
        let m = metadata();
        let core = Image { package: "sel4-core".into(), bin: "core".into() };
        assert_eq!(owner(&m, "core", Kind::RootTask).unwrap(), core);
        assert_eq!(owner(&m, "self-ipc", Kind::RootTask).unwrap().package, "selftest");
        assert_eq!(owner(&m, "hello", Kind::Service).unwrap().package, "hello");
    }

    #[test]
    fn unknown_names_list_the_images() {
        let m = metadata();
        let e = owner(&m, "nope", Kind::RootTask).unwrap_err().to_string();
        assert_eq!(e, "no workspace package has a binary `nope`; images: core, self-ipc");
        let e = owner(&m, "placement", Kind::RootTask).unwrap_err().to_string();
        assert!(e.starts_with("no workspace package has a binary `placement`"), "{e}");
        let e = owner(&m, "run", Kind::RootTask).unwrap_err().to_string();
        assert!(e.starts_with("binary `run` of package `run` is no root-task image"), "{e}");
        assert!(owner(&serde_json::json!({}), "core", Kind::RootTask).is_err());
    }

    #[test]
    fn a_root_task_is_no_service_and_the_other_way_round() {
        let m = metadata();
        let e = owner(&m, "core", Kind::Service).unwrap_err().to_string();
        assert_eq!(
            e,
            "binary `core` of package `sel4-core` is no service (the package has no `service` feature); services: hello"
        );
        let e = owner(&m, "hello", Kind::RootTask).unwrap_err().to_string();
        assert!(e.starts_with("binary `hello` of package `hello` is no root-task image"), "{e}");
        let e = owner(&m, "nope", Kind::Service).unwrap_err().to_string();
        assert_eq!(e, "no workspace package has a binary `nope`; services: hello");
    }

    #[test]
    fn this_workspace_builds_core_from_sel4_core_and_hello_from_hello() {
        assert_eq!(find("core", Kind::RootTask).unwrap(), Image { package: "sel4-core".into(), bin: "core".into() });
        assert_eq!(find("hello", Kind::Service).unwrap(), Image { package: "hello".into(), bin: "hello".into() });
    }
}
