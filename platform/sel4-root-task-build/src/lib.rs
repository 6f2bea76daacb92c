//! sel4-root-task-build: what the build script of a package with freestanding binaries (root
//! tasks or services) emits. Binaries are linked as static, non-PIE ELFs at the fixed address
//! their runtime's linker script lays out: `sel4-root-task`'s for root tasks (seL4's loader
//! does no relocation, `src/arch/x86/64/kernel/elf.c`), `sel4-runtime`'s for services core
//! loads. The arguments apply to bins only, so the package's host library, tests and benches
//! link normally. The kernel configuration's `sel4_cfg_*` flags are re-emitted for the
//! package when it depends on `sel4-config`. The package must depend on the runtime whose
//! linker script it asks for (its `links` metadata names the script).

/// What a package's binaries are, and so whose linker script lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// A root task, started by the kernel (`sel4-root-task`).
    RootTask,
    /// A service, started by core (`sel4-runtime`).
    Service,
}

impl Image {
    /// The runtime package that names the linker script.
    pub fn runtime(self) -> &'static str {
        match self {
            Image::RootTask => "sel4-root-task",
            Image::Service => "sel4-runtime",
        }
    }

    /// The variable cargo hands this package's build script the runtime's script path in
    /// (from the runtime's `links` name and its `LINKER_SCRIPT` line).
    pub fn linker_script_var(self) -> &'static str {
        match self {
            Image::RootTask => "DEP_SEL4_ROOT_TASK_LINKER_SCRIPT",
            Image::Service => "DEP_SEL4_RUNTIME_LINKER_SCRIPT",
        }
    }

    /// The variable naming where the script's `INCLUDE` of the shared layout is found
    /// (`sel4-runtime-common`, forwarded by the runtime).
    pub fn linker_search_var(self) -> &'static str {
        match self {
            Image::RootTask => "DEP_SEL4_ROOT_TASK_LINKER_SEARCH",
            Image::Service => "DEP_SEL4_RUNTIME_LINKER_SEARCH",
        }
    }
}

/// Call from `build.rs` when the package builds root-task binaries.
pub fn configure() {
    configure_for(Image::RootTask)
}

/// Call from `build.rs` when the package builds binaries of kind `image`.
pub fn configure_for(image: Image) {
    let check = std::env::var("DEP_SEL4_CONFIG_CHECK_CFGS").unwrap_or_default();
    if !check.is_empty() {
        println!("cargo::rustc-check-cfg=cfg({})", check.replace(',', ", "));
    }
    for c in std::env::var("DEP_SEL4_CONFIG_CFGS").unwrap_or_default().split(',').filter(|c| !c.is_empty()) {
        println!("cargo::rustc-cfg={c}");
    }
    let script = std::env::var(image.linker_script_var())
        .unwrap_or_else(|_| panic!("{} names no linker script (is it a dependency of this package?)", image.runtime()));
    let search = std::env::var(image.linker_search_var())
        .unwrap_or_else(|_| panic!("{} names no linker search directory", image.runtime()));
    for arg in link_args(&script, &search) {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}

/// Linker arguments of a static, non-PIE image laid out by `script`, whose `INCLUDE`s are
/// found in `search`.
pub fn link_args(script: &str, search: &str) -> Vec<String> {
    let fixed = [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
        "-Wl,-z,norelro",
        "-Wl,-z,noexecstack",
    ];
    fixed.iter().map(|a| a.to_string()).chain([format!("-Wl,-L,{search}"), format!("-Wl,-T,{script}")]).collect()
}

/// Copies the file named by env `var` to `$OUT_DIR/name`, for `include_bytes!` (the kernel
/// loads only multiboot module 0, so whatever a root task needs must be inside its image);
/// without `var` the file is empty. Rewritten only on change, so an unchanged file does not
/// rebuild the package.
pub fn embed(var: &str, name: &str) {
    println!("cargo:rerun-if-env-changed={var}");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bytes = match std::env::var_os(var) {
        Some(p) => {
            let p = std::path::PathBuf::from(p);
            println!("cargo:rerun-if-changed={}", p.display());
            std::fs::read(&p).unwrap_or_else(|e| panic!("{var}={}: {e}", p.display()))
        }
        None => Vec::new(),
    };
    let dest = out.join(name);
    if std::fs::read(&dest).ok().as_deref() != Some(bytes.as_slice()) {
        std::fs::write(&dest, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_image_kind_names_its_runtime_and_script_variable() {
        assert_eq!(Image::RootTask.linker_script_var(), "DEP_SEL4_ROOT_TASK_LINKER_SCRIPT");
        assert_eq!(Image::Service.linker_script_var(), "DEP_SEL4_RUNTIME_LINKER_SCRIPT");
        // Cargo derives the variable from the runtime's `links` name.
        for image in [Image::RootTask, Image::Service] {
            let links = image.runtime().replace('-', "_").to_uppercase();
            assert_eq!(image.linker_script_var(), format!("DEP_{links}_LINKER_SCRIPT"));
        }
    }

    #[test]
    fn images_are_static_and_laid_out_by_the_script() {
        let args = link_args("/x/service.ld", "/y");
        assert!(args.iter().any(|a| a == "-Wl,-L,/y"));
        assert!(args.iter().any(|a| a == "-static") && args.iter().any(|a| a == "-no-pie"));
        assert_eq!(args.last().map(String::as_str), Some("-Wl,-T,/x/service.ld"));
    }
}
