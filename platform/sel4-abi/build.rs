//! Generates, for the kernel configuration in use (env `SEL4_CONFIG`), the
//! numbers libsel4's generators and headers would give: invocation labels
//! (interface XML), syscall numbers (`syscall.xml`), the integer constants of
//! the interface headers (object types, sizes, errors, initial cap slots,
//! message limits), honouring every condition for that config; the field
//! layout of the interface's bitfield words (`.bf` files); and the few numbers
//! of the kernel's own headers whose effects userland sees.

use sel4_build_support::autoconf::Defines;
use sel4_build_support::numbers;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    if let Err(e) = run() {
        eprintln!("sel4-abi build: {e}");
        std::process::exit(1);
    }
}

fn read(path: &Path) -> Result<String, String> {
    println!("cargo:rerun-if-changed={}", path.display());
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed=SEL4_CONFIG");
    let name = std::env::var("SEL4_CONFIG").unwrap_or_else(|_| "debug".into());
    let header = sel4_kernel_build::config_header(&name).map_err(|e| e.to_string())?;
    let config = Defines::parse_autoconf(&read(&header)?).map_err(|e| format!("{}: {e}", header.display()))?;
    let tree = sel4_kernel_build::pristine_source_dir().map_err(|e| e.to_string())?;
    let n = numbers::generate(&tree, &config, &mut |p| println!("cargo:rerun-if-changed={}", p.display()))?;

    let mut code = String::new();
    // (C name, Rust expression) pairs, checked against the C headers by a host test.
    let mut check: Vec<(String, String)> = Vec::new();

    writeln!(
        code,
        "/// Name of the kernel configuration these numbers are for.\npub const CONFIG_NAME: &str = {name:?};"
    )
    .unwrap();

    writeln!(code, "/// Invocation labels of this kernel configuration (`enum invocation_label`,\n/// `sel4_arch_invocation_label`, `arch_invocation_label`).").unwrap();
    writeln!(code, "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[repr(u64)]\npub enum InvocationLabel {{")
        .unwrap();
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
    writeln!(code, "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[repr(i64)]\npub enum Syscall {{").unwrap();
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

    writeln!(code, "/// Field layout of the interface's bitfield words, one module per `.bf`\n/// block (C names), one [`Field`](crate::bitfield::Field) per field.").unwrap();
    writeln!(code, "#[allow(non_upper_case_globals, non_snake_case, dead_code)]\npub mod layout {{").unwrap();
    let mut layouts = Vec::new();
    for (file, block) in numbers::BITFIELDS {
        let b = n.bitfields.iter().find(|b| b.name == block).ok_or_else(|| format!("no block {block}"))?;
        writeln!(code, "    /// `{block}` (`{file}`)\n    pub mod {block} {{\n        use crate::bitfield::Field;")
            .unwrap();
        for f in &b.fields {
            writeln!(code, "        pub const {}: Field = Field::new({}, {});", f.name, f.offset, f.bits).unwrap();
            layouts.push(format!("({block:?}, {:?}, {block}::{})", f.name, f.name));
        }
        writeln!(code, "    }}").unwrap();
    }
    writeln!(code, "    /// Every field as (block, field, layout), for checks against libsel4's\n    /// generated bitfield functions.").unwrap();
    writeln!(code, "    pub const ALL: &[(&str, &str, crate::bitfield::Field)] = &[{}];", layouts.join(", ")).unwrap();
    writeln!(code, "}}").unwrap();

    writeln!(
        code,
        "/// The kernel's fault types: the label of the message a fault sends\n/// (`seL4_Fault` in `{}`).",
        numbers::FAULT_TAGS.0
    )
    .unwrap();
    writeln!(code, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\n#[repr(u64)]\npub enum FaultType {{").unwrap();
    for (t, v) in &n.fault_tags {
        writeln!(code, "    {t} = {v},").unwrap();
        check.push((format!("seL4_Fault_{t}"), format!("FaultType::{t} as i128")));
    }
    writeln!(code, "}}").unwrap();
    writeln!(code, "impl FaultType {{\n    /// The fault type of a fault message's label.\n    pub fn from_label(label: u64) -> Option<FaultType> {{\n        match label {{").unwrap();
    for (t, v) in &n.fault_tags {
        writeln!(code, "            {v} => Some(FaultType::{t}),").unwrap();
    }
    writeln!(code, "            _ => None,\n        }}\n    }}\n}}").unwrap();

    writeln!(code, "/// Numbers of the kernel's own headers (not libsel4's interface) that userland\n/// sees the effects of, under their C names.").unwrap();
    writeln!(code, "#[allow(non_upper_case_globals, dead_code)]\npub mod kernel {{").unwrap();
    let sources = numbers::KERNEL_CONSTANTS.iter().flat_map(|(file, names)| names.iter().map(move |_| *file));
    for (file, c) in sources.zip(&n.kernel) {
        if c.value < 0 {
            return Err(format!("{}: negative value {}", c.name, c.value));
        }
        writeln!(code, "    /// `{}` (`{file}`)\n    pub const {}: u64 = {:#x};", c.name, c.name, c.value).unwrap();
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
