//! Re-emits the kernel config's cfg flags (`sel4_cfg_*`) for this crate, and tells the build
//! scripts of root-task packages where the image's linker script is
//! (`DEP_SEL4_ROOT_TASK_LINKER_SCRIPT`).

fn main() {
    println!("cargo:rerun-if-changed=root-task.ld");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:LINKER_SCRIPT={dir}/root-task.ld");
    // Where the script's INCLUDE finds the shared layout.
    let common = std::env::var("DEP_SEL4_RUNTIME_COMMON_LINKER_DIR").expect("sel4-runtime-common names its directory");
    println!("cargo:LINKER_SEARCH={common}");
    let check = std::env::var("DEP_SEL4_CONFIG_CHECK_CFGS").unwrap_or_default();
    println!("cargo::rustc-check-cfg=cfg({})", check.replace(',', ", "));
    for c in std::env::var("DEP_SEL4_CONFIG_CFGS").unwrap_or_default().split(',').filter(|c| !c.is_empty()) {
        println!("cargo::rustc-cfg={c}");
    }
}
