//! Where things live: the workspace root, cargo's target folder, and the
//! folders below it for kernel builds, freestanding builds and system
//! descriptions; and the cargo that runs this tool.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The cargo this tool was started by (`CARGO`), so that every cargo it
/// runs is of the same toolchain; `cargo` from `PATH` otherwise.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The workspace root (the run crate sits one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("run crate lives inside the workspace").to_path_buf()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` if set (relative to the
/// current folder, as cargo reads it), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().map(|cwd| cwd.join(&dir)).unwrap_or(dir)
            }
        }
        _ => root().join("target"),
    }
}

/// Output root for the kernel source, kernels and libsel4 headers.
pub fn sel4_out_root() -> PathBuf {
    target_dir().join("sel4")
}

/// Target folder for freestanding builds with kernel configuration `config`
/// (separate so their RUSTFLAGS never touch host builds).
pub fn freestanding_target_dir(config: &str) -> PathBuf {
    target_dir().join("freestanding").join(config)
}

/// Target folder for service builds with kernel configuration `config` (apart from root
/// tasks: services are built with other features).
pub fn service_target_dir(config: &str) -> PathBuf {
    target_dir().join("services").join(config)
}

/// Folder of the system descriptions handed to root-task builds.
pub fn systems_dir() -> PathBuf {
    target_dir().join("systems")
}

/// Folder of the system description files (`run/systems/NAME.toml`).
pub fn system_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systems")
}

/// Folder of the scenario files.
pub fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}
