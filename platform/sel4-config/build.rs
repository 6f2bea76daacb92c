//! Generates the constants and cfg flags of the kernel configuration in use
//! (env `SEL4_CONFIG`, default `debug`) from its `autoconf.h`.

use sel4_build_support::autoconf::{self, option_type, Defines, OptionType, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    if let Err(e) = run() {
        eprintln!("sel4-config: {e}");
        std::process::exit(1);
    }
}

fn kconfig_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            kconfig_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "Kconfig") {
            out.push(p);
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed=SEL4_CONFIG");
    let name = std::env::var("SEL4_CONFIG").unwrap_or_else(|_| "debug".into());
    let header = sel4_kernel_build::config_header(&name).map_err(|e| e.to_string())?;
    println!("cargo:rerun-if-changed={}", header.display());
    let defs = Defines::parse_autoconf(&read(&header)?).map_err(|e| format!("{}: {e}", header.display()))?;

    // Option types come from the kernel's Kconfig files.
    let tree = sel4_kernel_build::pristine_source_dir().map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    kconfig_files(&tree, &mut files);
    files.sort();
    let mut kconfig = BTreeMap::new();
    for f in &files {
        kconfig.extend(autoconf::kconfig_types(&read(f)?));
    }

    // Every boolean option any config or Kconfig knows: declared as cfg and
    // given a `false` constant when the config in use leaves it out.
    let mut all_bools: BTreeSet<String> =
        kconfig.iter().filter(|(_, t)| **t == OptionType::Bool).map(|(n, _)| n.clone()).collect();
    for other in sel4_kernel_build::config_names() {
        let path = sel4_kernel_build::config_header(&other).map_err(|e| e.to_string())?;
        println!("cargo:rerun-if-changed={}", path.display());
        let d = Defines::parse_autoconf(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        for (k, v) in &d.map {
            if let Some(opt) = k.strip_prefix("CONFIG_") {
                if option_type(opt, v, &kconfig) == OptionType::Bool {
                    all_bools.insert(opt.to_string());
                }
            }
        }
    }

    let mut code = String::new();
    writeln!(code, "/// Name of the kernel configuration in use.\npub const NAME: &str = {name:?};").unwrap();
    let mut enabled = BTreeSet::new();
    for (k, v) in &defs.map {
        let Some(opt) = k.strip_prefix("CONFIG_") else { continue };
        let doc = format!("/// `{k}`");
        match (option_type(opt, v, &kconfig), v) {
            (OptionType::Bool, Value::Empty | Value::Int(_)) => {
                let on = *v != Value::Int(0);
                if on {
                    enabled.insert(opt.to_string());
                }
                writeln!(code, "{doc}\npub const {opt}: bool = {on};").unwrap();
            }
            (OptionType::Int | OptionType::Hex, Value::Int(i)) if *i >= 0 => {
                writeln!(code, "{doc}\npub const {opt}: usize = {i:#x};").unwrap();
            }
            (OptionType::Int | OptionType::Hex, Value::Int(i)) => {
                writeln!(code, "{doc}\npub const {opt}: i64 = {i};").unwrap();
            }
            (OptionType::Str, Value::Str(s)) => {
                writeln!(code, "{doc}\npub const {opt}: &str = \"{s}\";").unwrap();
            }
            (t, v) => return Err(format!("{k}: value {v:?} does not fit its type {t:?}")),
        }
    }
    for opt in all_bools.iter().filter(|o| !defs.is_defined(&format!("CONFIG_{o}"))) {
        writeln!(code, "/// `CONFIG_{opt}` (not set)\npub const {opt}: bool = false;").unwrap();
    }

    let cfg = |o: &str| format!("sel4_cfg_{}", o.to_ascii_lowercase());
    let check: Vec<String> = all_bools.iter().map(|o| cfg(o)).collect();
    let on: Vec<String> = enabled.iter().map(|o| cfg(o)).collect();
    println!("cargo::rustc-check-cfg=cfg({})", check.join(", "));
    for c in &on {
        println!("cargo::rustc-cfg={c}");
    }
    println!("cargo::metadata=CFGS={}", on.join(","));
    println!("cargo::metadata=CHECK_CFGS={}", check.join(","));
    println!("cargo::metadata=NAME={name}");
    println!("cargo::metadata=HEADER={}", header.display());
    println!("cargo::rustc-env=SEL4_CONFIG_HEADER={}", header.display());

    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("config.rs");
    std::fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
}
