//! With feature `root-task`: link arguments and kernel cfg flags of the self-test root tasks
//! (`sel4-root-task-build`), and the allocation trace `core-trace` replays, named by env
//! `CORE_TRACE` (the kernel loads only multiboot module 0, so a trace must be inside the
//! image); without it the embedded trace is empty.

use std::path::PathBuf;

fn main() {
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
    // Rewrite only on change, so an unchanged trace does not rebuild the binaries.
    if std::fs::read_to_string(&dest).ok().as_deref() != Some(trace.as_str()) {
        std::fs::write(&dest, trace).expect("write embedded trace");
    }
    if std::env::var_os("CARGO_FEATURE_ROOT_TASK").is_some() {
        sel4_root_task_build::configure();
    }
}
