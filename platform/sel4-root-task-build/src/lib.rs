//! sel4-root-task-build: what the build script of a package with root-task binaries emits.
//! Binaries are linked as static, non-PIE ELFs at the fixed address `sel4-root-task`'s linker
//! script lays out (seL4's loader does no relocation, `src/arch/x86/64/kernel/elf.c`); the
//! arguments apply to bins only, so the package's host library, tests and benches link
//! normally. The kernel configuration's `sel4_cfg_*` flags are re-emitted for the package.
//! The package must depend on `sel4-config` and `sel4-root-task` (their `links` metadata).

/// Call from `build.rs` when the package builds root-task binaries.
pub fn configure() {
    let check = std::env::var("DEP_SEL4_CONFIG_CHECK_CFGS").unwrap_or_default();
    if !check.is_empty() {
        println!("cargo::rustc-check-cfg=cfg({})", check.replace(',', ", "));
    }
    for c in std::env::var("DEP_SEL4_CONFIG_CFGS").unwrap_or_default().split(',').filter(|c| !c.is_empty()) {
        println!("cargo::rustc-cfg={c}");
    }
    let script = std::env::var("DEP_SEL4_ROOT_TASK_LINKER_SCRIPT")
        .expect("sel4-root-task names its linker script (is it a dependency of this package?)");
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
        "-Wl,-z,norelro",
        "-Wl,-z,noexecstack",
        &format!("-Wl,-T,{script}"),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
