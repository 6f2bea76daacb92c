//! libsel4's generated headers (`install-headers`) for one kernel
//! configuration, and the include path a C compiler needs to use them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::{self, Key};
use crate::{config_header, logged, source, tools, Error};

/// Generates libsel4's headers for configuration `config` below
/// `out_root/libsel4/<config>` and returns the include directories (in
/// `-I` order) for compiling a program against `<sel4/sel4.h>`,
/// `<sel4/invocation.h>`, `<sel4/bootinfo.h>`, `<interfaces/sel4_client.h>`
/// and the configuration's `<autoconf.h>`. Cached per configuration.
pub fn libsel4_headers(config: &str, out_root: &Path) -> Result<Vec<PathBuf>, Error> {
    let header = config_header(config)?;
    let _lock = cache::lock_out_root(out_root)?;
    let src = source::prepare_locked(out_root)?;
    let lib = src.dir.join("libsel4");

    let dir = out_root.join("libsel4").join(config);
    let srctree = dir.join("srctree");
    let generated = srctree.join("include").join("generated");
    let build = dir.join("build");
    let include_dirs = vec![
        build.join("include"),
        build.join("sel4_arch_include").join("x86_64"),
        lib.join("include"),
        lib.join("arch_include").join("x86"),
        lib.join("sel4_arch_include").join("x86_64"),
        lib.join("sel4_plat_include").join("pc99"),
        generated.clone(),
    ];

    let key = Key::new().text("libsel4-headers-v1").text(&src.key).file("autoconf.h", &header)?.hex();
    let stamp = dir.join("stamp");
    if build.is_dir() && cache::is_current(&stamp, &key) {
        return Ok(include_dirs);
    }

    let tools = tools::ensure_build_tools()?;
    eprintln!("sel4-kernel-build: generating libsel4 headers for `{config}`");
    let _ = std::fs::remove_file(&stamp);
    cache::remove_dir(&dir)?;
    std::fs::create_dir_all(&generated)?;
    std::fs::create_dir_all(&build)?;
    let common = dir.join("common");
    std::fs::create_dir_all(&common)?;
    // libsel4's Makefile includes $(SEL4_COMMON)/common.mk, the old seL4
    // project build's rules; install-headers uses none of them.
    std::fs::write(common.join("common.mk"), "")?;
    std::fs::copy(&header, generated.join("autoconf.h"))?;
    // syscall_stub_gen.py reads the word size from a Kconfig-style .config.
    std::fs::write(srctree.join(".config"), kconfig_from_autoconf(&std::fs::read_to_string(&header)?))?;

    let mut make = Command::new("make");
    make.current_dir(&build)
        .env("PATH", tools.path_with_python(out_root)?)
        .arg("-f")
        .arg(lib.join("Makefile"))
        .arg("install-headers")
        .arg(format!("SOURCE_DIR={}", lib.display()))
        // libsel4/tools lacks the lex.py and umm.py that bitfield_gen.py
        // imports from its own folder; the kernel's tools/ copy has them.
        .arg(format!("BF_GEN_PATH={}", src.dir.join("tools/bitfield_gen.py").display()))
        .arg("KERNEL_64=y")
        .arg("ARCH=x86")
        .arg("SEL4_ARCH=x86_64")
        .arg("PLAT=pc99")
        .arg(format!("srctree={}", srctree.display()))
        .arg(format!("SEL4_COMMON={}", common.display()))
        .arg("PYTHON=python3")
        // The .bf inputs must be preprocessed as C whatever their suffix.
        .arg("CPP=gcc -E -x c")
        .arg(format!("CPPFLAGS=-I{}", generated.display()));
    logged::run("libsel4 install-headers", &mut make, &dir.join("build.log"))?;
    cache::record(&stamp, &key)?;
    Ok(include_dirs)
}

/// Turns `#define CONFIG_X value` lines into Kconfig `CONFIG_X=value` lines.
pub fn kconfig_from_autoconf(autoconf: &str) -> String {
    let mut out = String::new();
    for line in autoconf.lines() {
        let mut words = line.splitn(3, char::is_whitespace);
        if let (Some("#define"), Some(name), Some(value)) = (words.next(), words.next(), words.next()) {
            if name.starts_with("CONFIG_") {
                out.push_str(&format!("{name}={}\n", value.trim()));
            }
        }
    }
    out
}
