//! Generates, for the kernel configuration in use (env `SEL4_CONFIG`), the
//! numbers libsel4's generators and headers would give: invocation labels
//! (interface XML), syscall numbers (`syscall.xml`), and the integer
//! constants of the interface headers (object types, sizes, errors, initial
//! cap slots, message limits), honouring every condition for that config.

use sel4_build_support::autoconf::Defines;
use sel4_build_support::numbers;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    if let Err(e) = run() {
        eprintln!("sel4 build: {e}");
        std::process::exit(1);
    }
}

fn read(path: &Path) -> Result<String, String> {
    println!("cargo:rerun-if-changed={}", path.display());
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed=SEL4_CONFIG");
    forward_config_cfgs();

    let name = std::env::var("SEL4_CONFIG").unwrap_or_else(|_| "debug".into());
    let header = sel4_kernel_build::config_header(&name).map_err(|e| e.to_string())?;
    let config = Defines::parse_autoconf(&read(&header)?).map_err(|e| format!("{}: {e}", header.display()))?;
    let tree = sel4_kernel_build::pristine_source_dir().map_err(|e| e.to_string())?;
    let n = numbers::generate(&tree, &config, &mut |p| println!("cargo:rerun-if-changed={}", p.display()))?;

    let mut code = String::new();
    // (C name, Rust expression) pairs, checked against the C headers by a host test.
    let mut check: Vec<(String, String)> = Vec::new();

    writeln!(code, "/// Invocation labels of this kernel configuration (`enum invocation_label`,\n/// `sel4_arch_invocation_label`, `arch_invocation_label`).").unwrap();
    writeln!(code, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\n#[repr(u64)]\npub enum InvocationLabel {{").unwrap();
    for (id, l) in &n.labels {
        writeln!(code, "    {id} = {l},").unwrap();
        check.push((id.clone(), format!("InvocationLabel::{id} as i128")));
    }
    writeln!(code, "}}").unwrap();
    let rust_counts = ["N_INVOCATION_LABELS", "N_SEL4_ARCH_INVOCATION_LABELS", "N_ARCH_INVOCATION_LABELS"];
    for ((c, v), rust) in n.counts.iter().zip(rust_counts) {
        writeln!(code, "/// `{c}`\npub const {rust}: u64 = {v};").unwrap();
        check.push((c.to_string(), format!("{rust} as i128")));
    }

    writeln!(code, "/// System call numbers of this configuration (`seL4_Syscall_ID`).").unwrap();
    writeln!(code, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\n#[repr(i64)]\npub enum Syscall {{").unwrap();
    for (s, v) in &n.syscalls {
        writeln!(code, "    {s} = {v},").unwrap();
        check.push((format!("seL4_Sys{s}"), format!("Syscall::{s} as i128")));
    }
    writeln!(code, "}}").unwrap();

    writeln!(code, "/// Integer constants of libsel4's interface headers for this configuration,\n/// under their C names (types, sizes, errors, initial cap slots, limits).").unwrap();
    writeln!(code, "#[allow(non_upper_case_globals, dead_code)]\npub mod sys {{").unwrap();
    for c in &n.constants {
        let (ty, v) = if c.value < 0 { ("i64", c.value.to_string()) } else { ("u64", format!("{:#x}", c.value)) };
        writeln!(code, "    pub const {}: {ty} = {v};", c.name).unwrap();
        check.push((c.name.clone(), format!("sys::{} as i128", c.name)));
    }
    writeln!(code, "}}").unwrap();

    writeln!(code, "/// Every generated number under its C name, for comparison with libsel4's headers.").unwrap();
    writeln!(code, "pub const C_CHECK: &[(&str, i128)] = &[").unwrap();
    for (c, r) in &check {
        writeln!(code, "    ({c:?}, {r}),").unwrap();
    }
    writeln!(code, "];").unwrap();

    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("generated.rs");
    std::fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// Re-emits the config's cfg flags (`sel4_cfg_*`) for this crate.
fn forward_config_cfgs() {
    let check = std::env::var("DEP_SEL4_CONFIG_CHECK_CFGS").unwrap_or_default();
    println!("cargo::rustc-check-cfg=cfg({})", check.replace(',', ", "));
    for c in std::env::var("DEP_SEL4_CONFIG_CFGS").unwrap_or_default().split(',').filter(|c| !c.is_empty()) {
        println!("cargo::rustc-cfg={c}");
    }
}
