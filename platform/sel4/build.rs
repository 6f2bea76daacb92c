//! Re-emits the kernel config's cfg flags (`sel4_cfg_*`) for this crate (the
//! debug syscalls exist only with `CONFIG_DEBUG_BUILD`).

fn main() {
    let check = std::env::var("DEP_SEL4_CONFIG_CHECK_CFGS").unwrap_or_default();
    println!("cargo::rustc-check-cfg=cfg({})", check.replace(',', ", "));
    for c in std::env::var("DEP_SEL4_CONFIG_CFGS").unwrap_or_default().split(',').filter(|c| !c.is_empty()) {
        println!("cargo::rustc-cfg={c}");
    }
}
