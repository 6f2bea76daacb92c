//! The services a scenario names: each built as a binary of the workspace package that has it
//! (feature `service`), and the system description core starts them from (their names,
//! quotas and ELFs, `sel4-core-system`), written to a file of its own per scenario and kernel
//! configuration for the root task's build to embed (`CORE_SYSTEM`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use crate::image::freestanding::{self, Build};
use crate::image::packages::{self, Kind};
use crate::scenario::service::encode;
use crate::scenario::{requests, Scenario};
use crate::workspace;

/// Builds every service of `s` (each binary once) and writes their description to
/// `<systems>/<scenario>-<config>.system`; returns that file's absolute path, or `None` when
/// the scenario names no service.
pub fn build_system(s: &Scenario) -> Result<Option<PathBuf>> {
    if s.services.is_empty() {
        return Ok(None);
    }
    let mut elfs: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for service in &s.services {
        if !elfs.contains_key(service.binary.as_str()) {
            let path = build(s, &service.binary)?;
            let elf = without_debug_info(&path)?;
            elfs.insert(&service.binary, elf);
        }
    }
    let blob = encode(s.services.iter().map(|x| (x, elfs[x.binary.as_str()].as_slice())), &s.channels)?;
    let file = workspace::systems_dir().join(format!("{}-{}.system", s.name, s.config));
    write_if_changed(&file, &blob)?;
    eprintln!("run: {} service(s) described in {} ({} bytes)", s.services.len(), file.display(), blob.len());
    Ok(Some(file))
}

/// Builds service `name` of scenario `s` for its kernel configuration (the requester with the
/// scenario's script) and returns its ELF's path.
pub fn build(s: &Scenario, name: &str) -> Result<PathBuf> {
    let image = packages::find(name, Kind::Service)?;
    let target_dir = workspace::service_target_dir(&s.config);
    let env = requests::build_env(s, name)?;
    freestanding::build(&Build {
        image: &image,
        kind: Kind::Service,
        features: &[],
        config: &s.config,
        target_dir: &target_dir,
        env: &env,
    })
}

/// The bytes of the ELF at `path` without its debug sections (`objcopy --strip-debug`, into a
/// file beside it): what core loads is the same, the image it is packed into far smaller. The
/// ELF with debug information stays for gdb.
fn without_debug_info(path: &Path) -> Result<Vec<u8>> {
    let stripped = path.with_extension("stripped");
    let status = std::process::Command::new("objcopy")
        .arg("--strip-debug")
        .arg(path)
        .arg(&stripped)
        .status()
        .map_err(|e| anyhow!("cannot run objcopy (binutils): {e}"))?;
    if !status.success() {
        anyhow::bail!("objcopy --strip-debug {} failed ({status})", path.display());
    }
    std::fs::read(&stripped).with_context(|| format!("cannot read {}", stripped.display()))
}

/// Writes `bytes` to `file` unless it holds them already (an unchanged file does not make
/// cargo rerun core's build script).
fn write_if_changed(file: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(file).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(file, bytes).with_context(|| format!("cannot write {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sel4_core_system::System;

    const SCENARIO: &str = "\
ram 512M
config debug
timeout 60
image core
service hello
service timer ram=64K caps=8 prio=255
service hello ram=1G prio=7
exit success
";

    /// The description of a parsed scenario, with stand-in ELFs: what core will decode.
    #[test]
    fn a_scenario_s_services_are_described_in_file_order() {
        let s = Scenario::parse("services.scenario", SCENARIO).unwrap();
        let elf_of = |name: &str| -> &'static [u8] {
            match name {
                "hello" => b"\x7fELF hello",
                _ => b"\x7fELF timer",
            }
        };
        let blob = encode(s.services.iter().map(|x| (x, elf_of(&x.name))), &[]).unwrap();
        let system = System::decode(&blob).unwrap();
        let got: Vec<_> = system.services.iter().map(|x| (x.name, x.ram, x.caps, x.prio, x.elf)).collect::<Vec<_>>();
        assert_eq!(
            got,
            [
                ("hello", 4 << 20, 256, 100, elf_of("hello")),
                ("timer", 64 << 10, 8, 255, elf_of("timer")),
                ("hello", 1 << 30, 256, 7, elf_of("hello")),
            ]
        );
    }

    #[test]
    fn no_services_is_an_empty_system() {
        let blob = encode([], &[]).unwrap();
        assert_eq!(System::decode(&blob).unwrap().services.len(), 0);
    }

    #[test]
    fn the_file_is_rewritten_only_on_change() {
        let dir = std::env::temp_dir().join(format!("run-systems-test-{}", std::process::id()));
        let file = dir.join("x.system");
        write_if_changed(&file, b"one").unwrap();
        let written = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_if_changed(&file, b"one").unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), written);
        write_if_changed(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
