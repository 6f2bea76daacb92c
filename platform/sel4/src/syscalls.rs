//! The system calls, as `syscall` instructions (x86_64 ABI of
//! `libsel4/sel4_arch_include/x86_64/sel4/sel4_arch/syscalls_syscall.h`):
//! RDX = syscall number, RDI = cap (out: badge), RSI = message info,
//! MR0..MR3 in R10, R8, R9, R15; RCX and R11 are clobbered by
//! `syscall`/`sysret`. The kernel's `sysret` path returns with RSP = 0
//! (it clears RSP before `sysret`: `src/arch/x86/64/c_traps.c:restore_user_context`),
//! so RSP is kept in R12, which the kernel saves and restores with the
//! rest of the user context.

use crate::{CPtr, MessageInfo, Syscall, Word};

/// Message registers MR0..MR3, which travel in registers.
pub type Mrs = [Word; 4];

/// What a receiving syscall returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub info: MessageInfo,
    pub badge: Word,
    pub mrs: Mrs,
}

/// One `syscall` with every message register in and out.
#[inline(always)]
fn raw(sys: Syscall, rdi: Word, rsi: Word, mrs: Mrs) -> (Word, Word, Mrs) {
    let (mut rdi, mut rsi) = (rdi, rsi);
    let [mut m0, mut m1, mut m2, mut m3] = mrs;
    // SAFETY: the kernel changes only the registers named here (RSP it zeroes,
    // and the asm restores it from R12, which the kernel preserves) and the
    // calling thread's IPC buffer. No Rust reference to that buffer is live
    // during a call (`ipc_buffer` lends it out only between calls), and the
    // asm is not `nomem`/`readonly`, so the compiler assumes memory behind the
    // registered buffer pointer may change.
    unsafe {
        core::arch::asm!(
            "mov r12, rsp",
            "syscall",
            "mov rsp, r12",
            in("rdx") sys as i64,
            inout("rdi") rdi,
            inout("rsi") rsi,
            inout("r10") m0,
            inout("r8") m1,
            inout("r9") m2,
            inout("r15") m3,
            out("r12") _,
            out("rcx") _,
            out("r11") _,
        );
    }
    (rdi, rsi, [m0, m1, m2, m3])
}

/// `seL4_Call`: send and wait for the reply (the only way kernel
/// invocations report errors).
pub fn call(dest: CPtr, info: MessageInfo, mrs: Mrs) -> Received {
    let (badge, info, mrs) = raw(Syscall::Call, dest.bits(), info.into_word(), mrs);
    Received { info: MessageInfo::from_word(info), badge, mrs }
}

/// `seL4_Send`: blocking send, no reply.
pub fn send(dest: CPtr, info: MessageInfo, mrs: Mrs) {
    raw(Syscall::Send, dest.bits(), info.into_word(), mrs);
}

/// `seL4_NBSend`: send if a receiver is waiting, else drop the message.
pub fn nb_send(dest: CPtr, info: MessageInfo, mrs: Mrs) {
    raw(Syscall::NBSend, dest.bits(), info.into_word(), mrs);
}

/// `seL4_Recv`: wait for a message on `src`.
pub fn recv(src: CPtr) -> Received {
    let (badge, info, mrs) = raw(Syscall::Recv, src.bits(), 0, [0; 4]);
    Received { info: MessageInfo::from_word(info), badge, mrs }
}

/// `seL4_Reply`: answer the last caller (pre-MCS implicit reply cap).
pub fn reply(info: MessageInfo, mrs: Mrs) {
    raw(Syscall::Reply, 0, info.into_word(), mrs);
}

/// `seL4_ReplyRecv`: reply, then wait on `src`.
pub fn reply_recv(src: CPtr, info: MessageInfo, mrs: Mrs) -> Received {
    let (badge, info, mrs) = raw(Syscall::ReplyRecv, src.bits(), info.into_word(), mrs);
    Received { info: MessageInfo::from_word(info), badge, mrs }
}

/// `seL4_Yield`.
pub fn yield_now() {
    raw(Syscall::Yield, 0, 0, [0; 4]);
}

/// `seL4_DebugPutChar` (debug kernels only).
#[cfg(sel4_cfg_debug_build)]
pub fn debug_put_char(c: u8) {
    raw(Syscall::DebugPutChar, c as Word, 0, [0; 4]);
}

/// `seL4_DebugHalt` (debug kernels only).
#[cfg(sel4_cfg_debug_build)]
pub fn debug_halt() {
    raw(Syscall::DebugHalt, 0, 0, [0; 4]);
}
