//! Link setup of the freestanding root-task binary (feature `root-task`):
//! a static, non-PIE ELF at a fixed address laid out by `root-task.ld`.
//! The arguments apply to bins only, so the host library, its tests and
//! benches link normally.

fn main() {
    println!("cargo:rerun-if-changed=root-task.ld");
    if std::env::var_os("CARGO_FEATURE_ROOT_TASK").is_none() {
        return;
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
