//! libsel4's generated headers (`install-headers`) for one kernel
//! configuration, and the include path a C compiler needs to use them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// The values of the C integer expressions `exprs` (constants, `sizeof`,
/// `offsetof`, calls of libsel4's inline bitfield functions) as a program
/// compiled with gcc against libsel4's headers for configuration `config`
/// computes them, in order; for checking numbers that were derived another way.
/// The program is built in a new folder below `scratch`.
pub fn libsel4_eval(config: &str, out_root: &Path, scratch: &Path, exprs: &[&str]) -> Result<Vec<i128>, Error> {
    let includes = libsel4_headers(config, out_root)?;
    // A folder per call: callers run in parallel (test threads), and one must
    // not run a program another is still writing ("Text file busy").
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = scratch.join(format!("libsel4-eval-{config}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <sel4/sel4.h>\n#include <sel4/invocation.h>\n\
         #include <sel4/syscall.h>\n#include <sel4/bootinfo.h>\nint main(void) {\n",
    );
    for e in exprs {
        c.push_str(&format!("    printf(\"%lld\\n\", (long long)({e}));\n"));
    }
    c.push_str("    return 0;\n}\n");
    let src = dir.join("eval.c");
    let exe = dir.join("eval");
    std::fs::write(&src, c)?;
    let mut cc = Command::new("gcc");
    cc.arg("-std=gnu11").arg("-w").arg("-o").arg(&exe).arg(&src);
    for i in &includes {
        cc.arg("-I").arg(i);
    }
    let out = cc.output().map_err(|e| Error::Tool(format!("cannot run gcc: {e}")))?;
    if !out.status.success() {
        return Err(Error::Tool(format!("gcc failed on {}:\n{}", src.display(), String::from_utf8_lossy(&out.stderr))));
    }
    let run = Command::new(&exe).output().map_err(|e| Error::Tool(format!("cannot run {}: {e}", exe.display())))?;
    if !run.status.success() {
        return Err(Error::Tool(format!("{} failed ({})", exe.display(), run.status)));
    }
    let values: Vec<i128> =
        String::from_utf8_lossy(&run.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
    if values.len() != exprs.len() {
        return Err(Error::Tool(format!(
            "{} printed {} values for {} expressions",
            exe.display(),
            values.len(),
            exprs.len()
        )));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(values)
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
