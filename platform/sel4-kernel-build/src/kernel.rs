//! Out-of-tree build of the kernel for one configuration, plus the ELF32
//! copy QEMU's `-kernel` accepts. Cached per configuration.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::cache::{self, Key};
use crate::{config_header, logged, source, tools, Error};

/// Flags added through the environment: the Makefile does `CFLAGS +=`, so
/// setting CFLAGS on the make command line would drop the kernel's own.
/// gcc 12 rejects `&packed->field` (`src/arch/x86/kernel/vspace.c`) and
/// treats the BIOS data area reads in `src/arch/x86/kernel/cmdline.c` as
/// null-page accesses; the kernel builds with -Werror.
const EXTRA_CFLAGS: &str = "-Wno-address-of-packed-member --param=min-pagesize=0";

/// What a kernel build produced.
#[derive(Debug, Clone)]
pub struct KernelArtifacts {
    /// ELF64 kernel with a multiboot v1 header (what GRUB loads).
    pub kernel_elf: PathBuf,
    /// ELF32 copy for QEMU `-kernel`, which refuses ELF64 multiboot images.
    pub kernel32_elf: PathBuf,
    /// The make build folder.
    pub build_dir: PathBuf,
    /// The patched source tree it was built from.
    pub source_dir: PathBuf,
}

/// Configurations built with `make DEBUG=1`: the kernel tests the bare
/// `DEBUG` macro as well as `CONFIG_DEBUG_BUILD`.
fn is_debug(autoconf: &str) -> bool {
    autoconf.lines().any(|l| l.trim_start().starts_with("#define CONFIG_DEBUG_BUILD"))
}

/// Builds the kernel for configuration `config` below
/// `out_root/kernel/<config>`. Rebuilt (from a clean build folder, since the
/// configuration is not a make dependency) only when the source, a patch or
/// the configuration changed.
pub fn build_kernel(config: &str, out_root: &Path) -> Result<KernelArtifacts, Error> {
    let header = config_header(config)?;
    let config_dir = header.parent().expect("config header has a folder").to_path_buf();
    let debug = is_debug(&std::fs::read_to_string(&header)?);
    let _lock = cache::lock_out_root(out_root)?;
    let src = source::prepare_locked(out_root)?;

    let dir = out_root.join("kernel").join(config);
    let build_dir = dir.join("build");
    let artifacts = KernelArtifacts {
        kernel_elf: dir.join("kernel.elf"),
        kernel32_elf: dir.join("kernel32.elf"),
        build_dir: build_dir.clone(),
        source_dir: src.dir.clone(),
    };
    let key = Key::new()
        .text("kernel-build-v1")
        .text(&src.key)
        .file("autoconf.h", &header)?
        .text(EXTRA_CFLAGS)
        .text(if debug { "DEBUG=1" } else { "" })
        .hex();
    let stamp = dir.join("stamp");
    if artifacts.kernel_elf.is_file() && artifacts.kernel32_elf.is_file() && cache::is_current(&stamp, &key) {
        return Ok(artifacts);
    }

    let tools = tools::ensure_build_tools()?;
    let log = dir.join("build.log");
    eprintln!("sel4-kernel-build: building the `{config}` kernel (log: {})", log.display());
    let started = Instant::now();
    let _ = std::fs::remove_file(&stamp);
    cache::remove_dir(&dir)?;
    std::fs::create_dir_all(&build_dir)?;

    let mut make = Command::new("make");
    make.current_dir(&build_dir)
        .env("PATH", tools.path_with_python(out_root)?)
        .env("CFLAGS", EXTRA_CFLAGS)
        // Our config folder must precede the tree's include/plat/pc99, which
        // holds a checked-in autoconf.h that would win otherwise.
        .env("CPPFLAGS", format!("-I{}", config_dir.display()))
        .arg("-f")
        .arg(src.dir.join("Makefile"))
        .arg(format!("SOURCE_ROOT={}", src.dir.display()))
        .args(["ARCH=x86", "SEL4_ARCH=x86_64", "PLAT=pc99", "PYTHON=python3"]);
    if debug {
        make.arg("DEBUG=1");
    }
    logged::run(&format!("kernel build (`{config}`)"), &mut make, &log)?;

    std::fs::copy(build_dir.join("kernel.elf"), &artifacts.kernel_elf)?;
    let mut objcopy = Command::new("objcopy");
    objcopy.args(["-O", "elf32-i386"]).arg(&artifacts.kernel_elf).arg(&artifacts.kernel32_elf);
    logged::run("objcopy to elf32-i386", &mut objcopy, &log)?;
    cache::record(&stamp, &key)?;
    eprintln!("sel4-kernel-build: built the `{config}` kernel in {:.1} s", started.elapsed().as_secs_f64());
    Ok(artifacts)
}
