//! Generates, for the kernel configuration in use (env `SEL4_CONFIG`), the
//! numbers libsel4's generators and headers would give: invocation labels
//! (interface XML), syscall numbers (`syscall.xml`), and the integer
//! constants of the interface headers (object types, sizes, errors, initial
//! cap slots, message limits), honouring every condition for that config.

#[path = "../sel4-config/build/autoconf.rs"]
#[allow(dead_code)]
mod autoconf;
#[path = "build/cheader.rs"]
mod cheader;

use autoconf::{holds, Defines};
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

/// Interface files in the order the kernel numbers their methods
/// (`libsel4/Makefile`: generic, then sel4_arch, then arch).
const INTERFACES: [(&str, &str); 3] = [
    ("libsel4/include/interfaces/sel4.xml", "N_INVOCATION_LABELS"),
    ("libsel4/sel4_arch_include/x86_64/interfaces/sel4arch.xml", "N_SEL4_ARCH_INVOCATION_LABELS"),
    ("libsel4/arch_include/x86/interfaces/sel4arch.xml", "N_ARCH_INVOCATION_LABELS"),
];

/// Headers with integer constants, in include order (later ones use
/// earlier ones' values, e.g. `seL4_NonArchObjectTypeCount`).
const HEADERS: [&str; 8] = [
    "libsel4/include/sel4/constants.h",
    "libsel4/sel4_arch_include/x86_64/sel4/sel4_arch/constants.h",
    "libsel4/sel4_plat_include/pc99/sel4/plat/api/constants.h",
    "libsel4/include/sel4/objecttype.h",
    "libsel4/sel4_arch_include/x86_64/sel4/sel4_arch/objecttype.h",
    "libsel4/arch_include/x86/sel4/arch/objecttype.h",
    "libsel4/include/sel4/errors.h",
    "libsel4/include/sel4/bootinfo_types.h",
];

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed=SEL4_CONFIG");
    println!("cargo:rerun-if-changed=build/cheader.rs");
    println!("cargo:rerun-if-changed=../sel4-config/build/autoconf.rs");
    forward_config_cfgs();

    let name = std::env::var("SEL4_CONFIG").unwrap_or_else(|_| "debug".into());
    let header = sel4_kernel_build::config_header(&name).map_err(|e| e.to_string())?;
    let config = Defines::parse_autoconf(&read(&header)?).map_err(|e| format!("{}: {e}", header.display()))?;
    let tree = sel4_kernel_build::pristine_source_dir().map_err(|e| e.to_string())?;

    let mut code = String::new();
    // (C name, Rust expression) pairs, checked against the C headers by a host test.
    let mut check: Vec<(String, String)> = Vec::new();

    // Invocation labels (libsel4/tools/invocation_header_gen.py): 0 is
    // InvalidInvocation; a method whose condition is false takes no number.
    let mut labels: Vec<(String, u64)> = vec![("InvalidInvocation".into(), 0)];
    let mut counts = Vec::new();
    for (file, count_name) in INTERFACES {
        let text = read(&tree.join(file))?;
        let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{file}: {e}"))?;
        for m in doc.descendants().filter(|n| n.has_tag_name("method")) {
            let id = m.attribute("id").ok_or_else(|| format!("{file}: method without id"))?;
            if let Some(cond) = m.attribute("condition") {
                if !holds(cond, &config).map_err(|e| format!("{file}: {id}: {e}"))? {
                    continue;
                }
            }
            let n = labels.len() as u64;
            labels.push((id.to_string(), n));
        }
        counts.push((count_name, labels.len() as u64));
    }
    writeln!(code, "/// Invocation labels of this kernel configuration (`enum invocation_label`,\n/// `sel4_arch_invocation_label`, `arch_invocation_label`).").unwrap();
    writeln!(code, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\n#[repr(u64)]\npub enum InvocationLabel {{").unwrap();
    for (id, n) in &labels {
        writeln!(code, "    {id} = {n},").unwrap();
        check.push((id.clone(), format!("InvocationLabel::{id} as i128")));
    }
    writeln!(code, "}}").unwrap();
    let c_counts = ["nInvocationLabels", "nSeL4ArchInvocationLabels", "nArchInvocationLabels"];
    for ((rust, n), c) in counts.iter().zip(c_counts) {
        writeln!(code, "/// `{c}`\npub const {rust}: u64 = {n};").unwrap();
        check.push((c.to_string(), format!("{rust} as i128")));
    }

    // Syscall numbers (libsel4/tools/syscall_header_gen.py): -1 downwards,
    // counting every entry, emitting only those whose condition holds.
    let file = "include/api/syscall.xml";
    let text = read(&tree.join(file))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{file}: {e}"))?;
    writeln!(code, "/// System call numbers of this configuration (`seL4_Syscall_ID`).").unwrap();
    writeln!(code, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]\n#[repr(i64)]\npub enum Syscall {{").unwrap();
    let mut number: i64 = -1;
    for s in doc.descendants().filter(|n| n.has_tag_name("syscall")) {
        let sname = s.attribute("name").ok_or_else(|| format!("{file}: syscall without name"))?;
        let cond = s.parent_element().and_then(|p| p.attribute("condition"));
        let on = match cond {
            Some(c) => holds(c, &config).map_err(|e| format!("{file}: {sname}: {e}"))?,
            None => true,
        };
        if on {
            writeln!(code, "    {sname} = {number},").unwrap();
            check.push((format!("seL4_Sys{sname}"), format!("Syscall::{sname} as i128")));
        }
        number -= 1;
    }
    writeln!(code, "}}").unwrap();

    // Header constants.
    let mut defs = config.clone();
    let mut consts = Vec::new();
    for h in HEADERS {
        let text = read(&tree.join(h))?;
        consts.extend(cheader::scan(&text, &mut defs).map_err(|e| format!("{h}: {e}"))?);
    }
    writeln!(code, "/// Integer constants of libsel4's interface headers for this configuration,\n/// under their C names (types, sizes, errors, initial cap slots, limits).").unwrap();
    writeln!(code, "#[allow(non_upper_case_globals, dead_code)]\npub mod sys {{").unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for c in consts.iter().rev() {
        // A later definition wins, as in C; emit each name once.
        if !seen.insert(c.name.clone()) {
            continue;
        }
        let (ty, v) = if c.value < 0 { ("i64", c.value.to_string()) } else { ("u64", format!("{:#x}", c.value)) };
        writeln!(code, "    pub const {}: {ty} = {v};", c.name).unwrap();
        check.push((c.name.clone(), format!("sys::{} as i128", c.name)));
    }
    writeln!(code, "}}").unwrap();

    writeln!(code, "/// Every generated number under its C name, for comparison with libsel4's headers.").unwrap();
    writeln!(code, "#[allow(dead_code)]\npub const C_CHECK: &[(&str, i128)] = &[").unwrap();
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
