//! Build setup of the freestanding root-task binary (feature `root-task`):
//! * link it as a static, non-PIE ELF at a fixed address laid out by
//!   `root-task.ld` (arguments for bins only, so the host library, its
//!   tests and benches link normally);
//! * re-emit the kernel configuration's `sel4_cfg_*` flags (e.g. 1 GiB
//!   frames exist only with `CONFIG_HUGE_PAGE`);
//! * embed the allocation trace named by env `CORE_TRACE` (the kernel loads
//!   only multiboot module 0, so a trace must be inside core's image);
//!   without it the embedded trace is empty.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=root-task.ld");
    println!("cargo:rerun-if-env-changed=CORE_TRACE");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let trace = match std::env::var_os("CORE_TRACE") {
        Some(p) => {
            let p = PathBuf::from(p);
            println!("cargo:rerun-if-changed={}", p.display());
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("CORE_TRACE={}: {e}", p.display()))
        }
        None => String::new(),
    };
    let dest = out.join("core.trace");
    // Rewrite only on change, so an unchanged trace does not rebuild the binary.
    if std::fs::read_to_string(&dest).ok().as_deref() != Some(trace.as_str()) {
        std::fs::write(&dest, trace).expect("write embedded trace");
    }

    if std::env::var_os("CARGO_FEATURE_ROOT_TASK").is_none() {
        return;
    }
    let check = std::env::var("DEP_SEL4_CONFIG_CHECK_CFGS").unwrap_or_default();
    if !check.is_empty() {
        println!("cargo::rustc-check-cfg=cfg({})", check.replace(',', ", "));
    }
    for c in std::env::var("DEP_SEL4_CONFIG_CFGS").unwrap_or_default().split(',').filter(|c| !c.is_empty()) {
        println!("cargo::rustc-cfg={c}");
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
        "-Wl,-z,norelro",
        "-Wl,-z,noexecstack",
        &format!("-Wl,-T,{dir}/root-task.ld"),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
