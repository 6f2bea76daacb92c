//! With feature `root-task`: the root-task binary's link arguments and the kernel
//! configuration's cfg flags (`sel4-root-task-build`). Always: the system description core
//! starts services from, named by env `CORE_SYSTEM` (the run tool writes it; the kernel loads
//! only multiboot module 0, so it must be inside the image), copied to `$OUT_DIR/system.bin`;
//! without it the file is empty.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=CORE_SYSTEM");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let system = match std::env::var_os("CORE_SYSTEM") {
        Some(p) => {
            let p = PathBuf::from(p);
            println!("cargo:rerun-if-changed={}", p.display());
            std::fs::read(&p).unwrap_or_else(|e| panic!("CORE_SYSTEM={}: {e}", p.display()))
        }
        None => Vec::new(),
    };
    let dest = out.join("system.bin");
    // Rewrite only on change, so an unchanged description does not rebuild core.
    if std::fs::read(&dest).ok().as_deref() != Some(system.as_slice()) {
        std::fs::write(&dest, system).expect("write the embedded system description");
    }
    if std::env::var_os("CARGO_FEATURE_ROOT_TASK").is_some() {
        sel4_root_task_build::configure();
    }
}
