//! End-to-end checks of the cached build steps: patched source, libsel4
//! headers (compiled against by a C program) and the kernel images.
//! They use the output root the run tool uses (`<target>/sel4`), so a test
//! run and later boots share the cached steps.

use std::path::{Path, PathBuf};
use std::process::Command;

use sel4_kernel_build::{build_kernel, kconfig_from_autoconf, libsel4_headers, prepared_source};

fn scratch() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("sel4-kernel-build")
}

fn out_root() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("sel4")
}

#[test]
fn prepared_source_has_our_patches() {
    let src = prepared_source(&out_root()).unwrap();
    let check = std::fs::read_to_string(src.join("tools/circular_includes.py")).unwrap();
    assert!(check.contains(r#"^# [01] "kernel_all\.c""#));
    let multiboot = std::fs::read_to_string(src.join("include/arch/x86/arch/kernel/multiboot.h")).unwrap();
    assert!(multiboot.contains("uint32_t vbe_mode_info;"));
    assert!(!multiboot.contains("void *drives_addr;"));
    // A second call finds the stamp and keeps the tree.
    let again = prepared_source(&out_root()).unwrap();
    assert_eq!(src, again);
}

/// Compiles and runs a C program against the generated headers; returns
/// its output.
fn run_c_against_libsel4(config: &str, program: &str) -> String {
    let includes = libsel4_headers(config, &out_root()).unwrap();
    let dir = scratch().join(format!("c-check-{config}"));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("check.c");
    std::fs::write(&c, program).unwrap();
    let exe = dir.join("check");
    let mut cc = Command::new("gcc");
    for inc in &includes {
        cc.arg("-I").arg(inc);
    }
    let out = cc.arg(&c).arg("-o").arg(&exe).output().unwrap();
    assert!(out.status.success(), "gcc failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    String::from_utf8(run.stdout).unwrap()
}

const LAYOUT_PROGRAM: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <sel4/sel4.h>
#include <sel4/invocation.h>
#include <sel4/bootinfo.h>
#include <interfaces/sel4_client.h>
int main(void) {
    printf("%zu %zu %zu %d %d\n", offsetof(seL4_BootInfo, untypedList),
           sizeof(seL4_BootInfo), sizeof(seL4_IPCBuffer), (int)seL4_X86_4K,
           (int)CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS);
    return 0;
}
"#;

#[test]
fn libsel4_headers_compile_for_every_config() {
    for config in ["debug", "release"] {
        let out = run_c_against_libsel4(config, LAYOUT_PROGRAM);
        // 230 untypeds, HUGE_PAGE on: a 4 KiB frame is object type 8.
        assert_eq!(out.trim(), "169 2929 1024 8 230", "config {config}");
    }
}

#[test]
fn debug_config_has_debug_syscalls_and_release_has_none() {
    let program = r#"
#include <stdio.h>
#include <sel4/sel4.h>
int main(void) {
#ifdef CONFIG_DEBUG_BUILD
    printf("%d\n", (int)seL4_SysDebugPutChar);
#else
    printf("none\n");
#endif
    return 0;
}
"#;
    assert_eq!(run_c_against_libsel4("debug", program).trim(), "-9");
    assert_eq!(run_c_against_libsel4("release", program).trim(), "none");
}

fn elf_class(path: &Path) -> u8 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not an ELF file", path.display());
    bytes[4]
}

#[test]
fn kernels_build_and_are_cached() {
    for config in ["debug", "release"] {
        let k = build_kernel(config, &out_root()).unwrap();
        assert_eq!(elf_class(&k.kernel_elf), 2, "kernel.elf must be ELF64");
        assert_eq!(elf_class(&k.kernel32_elf), 1, "kernel32.elf must be ELF32");
        let built = std::fs::metadata(&k.kernel_elf).unwrap().modified().unwrap();
        let again = build_kernel(config, &out_root()).unwrap();
        let after = std::fs::metadata(&again.kernel_elf).unwrap().modified().unwrap();
        assert_eq!(built, after, "second build of `{config}` was not served from the cache");
    }
    let debug = std::fs::metadata(build_kernel("debug", &out_root()).unwrap().kernel_elf).unwrap().len();
    let release = std::fs::metadata(build_kernel("release", &out_root()).unwrap().kernel_elf).unwrap().len();
    // The debug kernel carries symbols and the printing code.
    assert!(debug > release, "debug {debug} bytes, release {release} bytes");
}

#[test]
fn unknown_config_is_an_error_not_a_build() {
    let err = build_kernel("nonexistent", &out_root()).unwrap_err();
    assert!(err.to_string().contains("debug"), "{err}");
}

#[test]
fn kconfig_lines_from_defines() {
    let text = "/* c */\n#define AUTOCONF_INCLUDED\n#define CONFIG_WORD_SIZE 64\n#define CONFIG_X \"a b\"\n";
    assert_eq!(kconfig_from_autoconf(text), "CONFIG_WORD_SIZE=64\nCONFIG_X=\"a b\"\n");
}
