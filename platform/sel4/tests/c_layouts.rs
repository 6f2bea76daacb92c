//! The crate's own layouts and typed constants (IPC buffer, bootinfo, register
//! set, rights, mapping attributes, initial caps) equal what a C program
//! compiled against libsel4's headers for the configuration in use computes.

use std::mem::{offset_of, size_of};
use std::path::PathBuf;

use sel4::bootinfo::{BOOTINFO_SIZE, MAX_UNTYPEDS, UNTYPED_DESC_SIZE, UNTYPED_LIST_OFFSET};
use sel4::{init_thread, CapRights, IpcBuffer, UserContext, VmAttributes};

#[test]
fn layouts_equal_libsel4() {
    let ours: Vec<(&str, i128)> = vec![
        ("sizeof(seL4_IPCBuffer)", size_of::<IpcBuffer>() as i128),
        ("_Alignof(seL4_IPCBuffer)", std::mem::align_of::<IpcBuffer>() as i128),
        ("offsetof(seL4_IPCBuffer, tag)", offset_of!(IpcBuffer, tag) as i128),
        ("offsetof(seL4_IPCBuffer, msg)", offset_of!(IpcBuffer, msg) as i128),
        ("offsetof(seL4_IPCBuffer, userData)", offset_of!(IpcBuffer, user_data) as i128),
        ("offsetof(seL4_IPCBuffer, caps_or_badges)", offset_of!(IpcBuffer, caps_or_badges) as i128),
        ("offsetof(seL4_IPCBuffer, receiveCNode)", offset_of!(IpcBuffer, receive_cnode) as i128),
        ("offsetof(seL4_IPCBuffer, receiveIndex)", offset_of!(IpcBuffer, receive_index) as i128),
        ("offsetof(seL4_IPCBuffer, receiveDepth)", offset_of!(IpcBuffer, receive_depth) as i128),
        ("sizeof(seL4_UserContext) / sizeof(seL4_Word)", UserContext::COUNT as i128),
        ("offsetof(seL4_UserContext, tls_base)", offset_of!(UserContext, tls_base) as i128),
        ("sizeof(seL4_BootInfo)", BOOTINFO_SIZE as i128),
        ("offsetof(seL4_BootInfo, untypedList)", UNTYPED_LIST_OFFSET as i128),
        ("sizeof(seL4_UntypedDesc)", UNTYPED_DESC_SIZE as i128),
        ("CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS", MAX_UNTYPEDS as i128),
        ("seL4_AllRights.words[0]", CapRights::all().into_word() as i128),
        ("seL4_ReadWrite.words[0]", CapRights::read_write().into_word() as i128),
        ("seL4_CanRead.words[0]", CapRights::read_only().into_word() as i128),
        ("seL4_NoRights.words[0]", CapRights::none().into_word() as i128),
        ("seL4_X86_WriteCombining", VmAttributes::WRITE_COMBINING.into_word() as i128),
        ("seL4_CapIOPort", init_thread::IO_PORT.bits() as i128),
        ("seL4_CapInitThreadIPCBuffer", init_thread::IPC_BUFFER.bits() as i128),
        ("seL4_NumInitialCaps", init_thread::NUM_INITIAL_CAPS as i128),
    ];
    let exprs: Vec<&str> = ours.iter().map(|(e, _)| *e).collect();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let theirs = sel4_kernel_build::libsel4_eval(sel4_config::NAME, &tmp.join("sel4-kernel"), &tmp, &exprs).unwrap();
    let bad: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .filter(|((_, v), c)| v != *c)
        .map(|((e, v), c)| format!("{e}: ours {v}, C {c}"))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
