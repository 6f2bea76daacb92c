//! Kernel configurations: one C header `config/<name>/autoconf.h` each.
//! Build scripts use these to generate constants for the same configuration
//! the kernel is built with.

use std::path::PathBuf;

use crate::{crate_dir, Error};

/// Directory holding one folder per kernel configuration.
pub fn config_root() -> PathBuf {
    crate_dir().join("config")
}

/// Names of all kernel configurations (folders of `config/` holding an
/// `autoconf.h`), sorted.
pub fn config_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(config_root())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("autoconf.h").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Path of the `autoconf.h` of configuration `name` (e.g. `debug`, `release`).
/// The folder holding it goes first on the kernel's include path.
pub fn config_header(name: &str) -> Result<PathBuf, Error> {
    let known = config_names();
    if !known.iter().any(|k| k == name) {
        return Err(Error::UnknownConfig { name: name.to_string(), known });
    }
    Ok(config_root().join(name).join("autoconf.h"))
}
