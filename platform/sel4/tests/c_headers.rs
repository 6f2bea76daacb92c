//! The generated numbers (invocation labels, syscall numbers, object types
//! and sizes, errors, initial caps, limits) equal what libsel4's own
//! generated C headers give for the same kernel configuration: a C program
//! compiled against those headers prints every constant by its C name.
//! Checked for the crate as built (config in use) and, through the build
//! script's generator, for every configuration.

use sel4_build_support::{autoconf, numbers};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn c_values(names: &[&str]) -> BTreeMap<String, i128> {
    c_values_for(sel4_config::NAME, names)
}

/// Values of `names` as libsel4's headers for configuration `config` give them.
fn c_values_for(config: &str, names: &[&str]) -> BTreeMap<String, i128> {
    let out_root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sel4-kernel");
    let includes = sel4_kernel_build::libsel4_headers(config, &out_root).expect("libsel4 headers");
    // A folder per call: tests run in parallel, and one must not run a program
    // another is still writing ("Text file busy").
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("c-headers-{config}-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut c = String::from("#include <stdio.h>\n#include <sel4/sel4.h>\n#include <sel4/invocation.h>\n#include <sel4/syscall.h>\nint main(void) {\n");
    for n in names {
        writeln!(c, "    printf(\"%s %lld\\n\", \"{n}\", (long long)({n}));").unwrap();
    }
    c.push_str("    return 0;\n}\n");
    let src = dir.join("constants.c");
    let exe = dir.join("constants");
    std::fs::write(&src, c).unwrap();
    let mut cc = Command::new("gcc");
    cc.arg("-std=gnu11").arg("-w").arg("-o").arg(&exe).arg(&src);
    for i in &includes {
        cc.arg("-I").arg(i);
    }
    let out = cc.output().expect("run gcc");
    assert!(out.status.success(), "gcc failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().expect("run the C program");
    assert!(run.status.success());
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap();
            (n.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn generated_numbers_equal_libsel4_headers() {
    let ours = sel4::GENERATED_C_CONSTANTS;
    let names: Vec<&str> = ours.iter().map(|(n, _)| *n).collect();
    let theirs = c_values(&names);
    let mut mismatches = Vec::new();
    for (n, v) in ours {
        // C prints through `long long`: compare modulo 2^64.
        let c = theirs[*n];
        if (*v as i64) != (c as i64) {
            mismatches.push(format!("{n}: ours {v}, C {c}"));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    // The check covers every kind of number the crate uses.
    for must in [
        "UntypedRetype",
        "CNodeRevoke",
        "X86PageGetAddress",
        "X86IOPortOut8",
        "nArchInvocationLabels",
        "seL4_SysCall",
        "seL4_SysYield",
        "seL4_X86_4K",
        "seL4_ObjectTypeCount",
        "seL4_TCBBits",
        "seL4_NotEnoughMemory",
        "seL4_CapIOPort",
        "seL4_MsgMaxLength",
        "seL4_MaxUntypedBits",
    ] {
        assert!(names.contains(&must), "{must} is not checked");
    }
    assert_eq!(sel4::InvocationLabel::UntypedRetype as i128, theirs["UntypedRetype"]);
}

/// The typed views agree with the C names they stand for.
#[test]
fn typed_views_use_the_generated_numbers() {
    use sel4::{sys, ObjectType};
    assert_eq!(ObjectType::Frame4K.into_word(), sys::seL4_X86_4K);
    assert_eq!(ObjectType::CNode.into_word(), sys::seL4_CapTableObject);
    assert_eq!(sel4::init_thread::IO_PORT.bits(), sys::seL4_CapIOPort);
    assert_eq!(sel4::bootinfo::MAX_UNTYPEDS, sel4_config::MAX_NUM_BOOTINFO_UNTYPED_CAPS);
}

/// The generator agrees with C for every configuration, not only the one
/// this crate was built for.
#[test]
fn generator_matches_libsel4_headers_for_every_config() {
    let names = sel4_kernel_build::config_names();
    assert!(!names.is_empty());
    let tree = sel4_kernel_build::pristine_source_dir().unwrap();
    for config in names {
        let header = sel4_kernel_build::config_header(&config).unwrap();
        let defs = autoconf::Defines::parse_autoconf(&std::fs::read_to_string(header).unwrap()).unwrap();
        let ours = numbers::generate(&tree, &defs, &mut |_| {}).unwrap().c_names();
        let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
        let theirs = c_values_for(&config, &names);
        let bad: Vec<String> = ours
            .iter()
            .filter(|(n, v)| *v as i64 != theirs[n] as i64)
            .map(|(n, v)| format!("{n}: ours {v}, C {}", theirs[n]))
            .collect();
        assert!(bad.is_empty(), "config {config}: {}", bad.join("; "));
        // Debug syscalls exist exactly when the config has DEBUG_BUILD.
        assert_eq!(names.contains(&"seL4_SysDebugPutChar"), defs.is_defined("CONFIG_DEBUG_BUILD"), "{config}");
    }
}
