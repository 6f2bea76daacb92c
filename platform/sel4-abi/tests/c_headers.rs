//! The generated numbers (invocation labels, syscall numbers, object types
//! and sizes, errors, initial caps, limits) and bitfield layouts equal what
//! libsel4's own generated C headers give for the same kernel configuration:
//! a C program compiled against those headers prints every constant by its C
//! name and runs libsel4's bitfield functions. Checked for the crate as built
//! (config in use) and, through the build script's generator, for every
//! configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sel4_abi::bitfield::Field;
use sel4_abi::{sys, CNodeCapData, MessageInfo, ObjectType, Word};
use sel4_build_support::{autoconf, numbers};

/// Values of the C expressions `exprs` under configuration `config`.
fn c_values(config: &str, exprs: &[String]) -> BTreeMap<String, i128> {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let refs: Vec<&str> = exprs.iter().map(String::as_str).collect();
    let values = sel4_kernel_build::libsel4_eval(config, &tmp.join("sel4-kernel"), &tmp, &refs).unwrap();
    exprs.iter().cloned().zip(values).collect()
}

/// Compares `ours` with C, modulo 2^64 (C prints through `long long`).
fn mismatches(ours: &[(String, i128)], theirs: &BTreeMap<String, i128>) -> Vec<String> {
    ours.iter()
        .filter(|(n, v)| *v as i64 != theirs[n] as i64)
        .map(|(n, v)| format!("{n}: ours {v}, C {}", theirs[n]))
        .collect()
}

/// C expressions that give a field's width and place through libsel4's
/// generated functions for the block, with the value each must have.
fn layout_checks(block: &str, field: &str, f: Field) -> Vec<(String, i128)> {
    // The I/O port cap data word is the kernel's alone (`Arch_updateCapData` reads it): libsel4
    // has no function for it. The driver scenarios check it, minting port ranges drivers use.
    if block == "io_port_capdata" {
        return Vec::new();
    }
    // libsel4 has the CNode cap data word as tag `Guard` of its `seL4_CapData`
    // union (`libsel4/include/sel4/types_64.bf`), whose constructor also sets
    // the tag bit; the XOR with an all-zero word of the same tag leaves the field.
    let (ty, fun, zero) = match block {
        "cnode_capdata" => {
            let fun = match field {
                "guard" => "seL4_CapData_Guard_%_GuardBits",
                "guardSize" => "seL4_CapData_Guard_%_GuardSize",
                _ => panic!("no libsel4 name for cnode_capdata.{field}"),
            };
            ("seL4_CapData_t".to_string(), fun.to_string(), "seL4_CapData_Guard_new(0, 0)".to_string())
        }
        _ => (format!("{block}_t"), format!("{block}_%_{field}"), format!("(({block}_t){{{{0}}}})")),
    };
    let (get, set) = (fun.replace('%', "get"), fun.replace('%', "set"));
    let max = f.max();
    vec![
        (format!("{set}({zero}, {max:#x}ull).words[0] ^ {zero}.words[0]"), (max << f.offset) as i128),
        (format!("{get}(({ty}){{{{~0ull}}}})"), max as i128),
    ]
}

#[test]
fn generated_numbers_equal_libsel4_headers() {
    let ours: Vec<(String, i128)> = sel4_abi::GENERATED_C_CONSTANTS.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let names: Vec<String> = ours.iter().map(|(n, _)| n.clone()).collect();
    let theirs = c_values(sel4_abi::CONFIG_NAME, &names);
    let bad = mismatches(&ours, &theirs);
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
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
        "seL4_GuardMismatch",
        "seL4_CapIOPort",
        "seL4_MsgMaxLength",
        "seL4_MinUntypedBits",
        "seL4_MaxUntypedBits",
        "seL4_SlotBits",
        "seL4_WordBits",
        "seL4_X86_WriteCombining",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} is not checked");
    }
    assert_eq!(sel4_abi::InvocationLabel::UntypedRetype as i128, theirs["UntypedRetype"]);
}

#[test]
fn layouts_equal_libsel4_bitfield_functions() {
    let ours: Vec<(String, i128)> =
        sel4_abi::layout::ALL.iter().flat_map(|(block, field, f)| layout_checks(block, field, *f)).collect();
    let mut blocks: Vec<&str> = sel4_abi::layout::ALL.iter().map(|(b, _, _)| *b).collect();
    blocks.dedup();
    assert_eq!(blocks, numbers::BITFIELDS.map(|(_, b)| b), "every block is checked");
    let exprs: Vec<String> = ours.iter().map(|(e, _)| e.clone()).collect();
    let bad = mismatches(&ours, &c_values(sel4_abi::CONFIG_NAME, &exprs));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The typed views agree with libsel4's macros and constructors.
#[test]
fn typed_views_equal_libsel4() {
    assert_eq!(ObjectType::Frame4K.into_word(), Some(sys::seL4_X86_4K));
    assert_eq!(ObjectType::CNode.into_word(), Some(sys::seL4_CapTableObject));
    let mut ours: Vec<(String, i128)> = vec![
        ("seL4_MsgMaxExtraCaps".into(), sel4_abi::message_info::MSG_MAX_EXTRA_CAPS as i128),
        (
            "seL4_MessageInfo_new(0x12345, 5, 2, 77).words[0]".into(),
            MessageInfo::new(0x12345, 5, 2, 77).into_word() as i128,
        ),
    ];
    let guard = |g: Word, s: u8| {
        let ours = CNodeCapData::new(g, s).unwrap().into_word() as i128;
        (format!("seL4_CapData_Guard_new({g:#x}, {s}).words[0] ^ seL4_CapData_Guard_new(0, 0).words[0]"), ours)
    };
    let top = sel4_abi::layout::cnode_capdata::guardSize.max() as u8;
    ours.extend([guard(0, 0), guard(0, 48), guard(0x2a5, 10), guard(0x3ffff, top)]);
    let exprs: Vec<String> = ours.iter().map(|(e, _)| e.clone()).collect();
    let bad = mismatches(&ours, &c_values(sel4_abi::CONFIG_NAME, &exprs));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The numbers taken from the kernel's configuration are the configuration's.
#[test]
fn config_numbers_equal_sel4_config() {
    assert_eq!(sel4_abi::CONFIG_NAME, sel4_config::NAME);
    assert_eq!(sel4_abi::RETYPE_FAN_OUT_LIMIT as usize, sel4_config::RETYPE_FAN_OUT_LIMIT);
    assert_eq!(ObjectType::Frame1G.into_word().is_some(), sel4_config::HUGE_PAGE);
    // The kernel window spans 2^39 bytes below the top 512 GiB slot of the
    // address space (hardware.h), so its base is aligned to that.
    assert_eq!(sel4_abi::PPTR_BASE.trailing_zeros(), 39);
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
        let n = numbers::generate(&tree, &defs, &mut |_| {}).unwrap();
        let mut ours = n.c_names();
        for b in &n.bitfields {
            for f in &b.fields {
                ours.extend(layout_checks(&b.name, &f.name, Field::new(f.offset, f.bits)));
            }
        }
        let exprs: Vec<String> = ours.iter().map(|(e, _)| e.clone()).collect();
        let theirs = c_values(&config, &exprs);
        let bad = mismatches(&ours, &theirs);
        assert!(bad.is_empty(), "config {config}: {}", bad.join("; "));
        // Debug syscalls exist exactly when the config has DEBUG_BUILD.
        let has = |name: &str| ours.iter().any(|(n, _)| n == name);
        assert_eq!(has("seL4_SysDebugPutChar"), defs.is_defined("CONFIG_DEBUG_BUILD"), "{config}");
        let wanted: usize = numbers::KERNEL_CONSTANTS.iter().map(|(_, names)| names.len()).sum();
        assert_eq!(n.kernel.len(), wanted, "{config}");
    }
}
