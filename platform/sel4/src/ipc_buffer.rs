//! The IPC buffer (`seL4_IPCBuffer`, 1024 bytes: `libsel4/include/sel4/shared_types.h`)
//! and access to the current thread's buffer through the GS segment: the
//! kernel loads GS base with the thread's IPC buffer address on every return
//! to user mode (`src/arch/x86/64/c_traps.c:restore_user_context`), so no
//! pointer needs to be stored anywhere.

use crate::message_info::{MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH};
use crate::{CPtr, Word};
use core::mem::offset_of;

/// Layout of the IPC buffer.
#[repr(C, align(1024))]
pub struct IpcBuffer {
    pub tag: Word,
    pub msg: [Word; MSG_MAX_LENGTH],
    pub user_data: Word,
    /// Send: CPtrs of the extra caps. Receive: badges of unwrapped caps.
    pub caps_or_badges: [Word; MSG_MAX_EXTRA_CAPS],
    /// Where received caps go: CNode, index and depth.
    pub receive_cnode: Word,
    pub receive_index: Word,
    pub receive_depth: Word,
}

const MSG_OFFSET: usize = offset_of!(IpcBuffer, msg);
const CAPS_OFFSET: usize = offset_of!(IpcBuffer, caps_or_badges);
const RECEIVE_OFFSET: usize = offset_of!(IpcBuffer, receive_cnode);
const USER_DATA_OFFSET: usize = offset_of!(IpcBuffer, user_data);

/// Reads the word at byte `offset` of the current thread's IPC buffer.
///
/// # Safety
/// GS base must point to this thread's mapped IPC buffer (true for seL4
/// threads with a buffer), and `offset` must lie inside it, 8-byte aligned.
unsafe fn read(offset: usize) -> Word {
    let v: Word;
    core::arch::asm!("mov {v}, qword ptr gs:[{o}]", o = in(reg) offset, v = out(reg) v, options(nostack, readonly, preserves_flags));
    v
}

/// Writes the word at byte `offset` of the current thread's IPC buffer.
///
/// # Safety
/// As for [`read`].
unsafe fn write(offset: usize, v: Word) {
    core::arch::asm!("mov qword ptr gs:[{o}], {v}", o = in(reg) offset, v = in(reg) v, options(nostack, preserves_flags));
}

/// Message register `i` as stored in the buffer (MR0..MR3 travel in
/// registers; the buffer holds MR4 and up). Out of range: `None`.
pub fn get_mr(i: usize) -> Option<Word> {
    (i < MSG_MAX_LENGTH).then(|| unsafe { read(MSG_OFFSET + 8 * i) })
}

/// Stores message register `i`; out of range: `false`, nothing written.
pub fn set_mr(i: usize, v: Word) -> bool {
    let ok = i < MSG_MAX_LENGTH;
    if ok {
        unsafe { write(MSG_OFFSET + 8 * i, v) }
    }
    ok
}

/// Stores extra cap `i` of the next message.
pub fn set_cap(i: usize, cptr: CPtr) -> bool {
    let ok = i < MSG_MAX_EXTRA_CAPS;
    if ok {
        unsafe { write(CAPS_OFFSET + 8 * i, cptr.bits()) }
    }
    ok
}

/// Badge of unwrapped cap `i` of the last received message.
pub fn get_badge(i: usize) -> Option<Word> {
    (i < MSG_MAX_EXTRA_CAPS).then(|| unsafe { read(CAPS_OFFSET + 8 * i) })
}

/// Sets where caps received with the next message are stored.
pub fn set_receive_path(cnode: CPtr, index: CPtr, depth: usize) {
    unsafe {
        write(RECEIVE_OFFSET, cnode.bits());
        write(RECEIVE_OFFSET + 8, index.bits());
        write(RECEIVE_OFFSET + 16, depth as Word);
    }
}

pub fn get_user_data() -> Word {
    unsafe { read(USER_DATA_OFFSET) }
}

pub fn set_user_data(v: Word) {
    unsafe { write(USER_DATA_OFFSET, v) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_libsel4() {
        assert_eq!(core::mem::size_of::<IpcBuffer>(), 1024);
        assert_eq!(MSG_OFFSET, 8);
        assert_eq!(USER_DATA_OFFSET, 968);
        assert_eq!(CAPS_OFFSET, 976);
        // loadCapTransfer reads word seL4_MsgMaxLength + seL4_MsgMaxExtraCaps + 2.
        assert_eq!(RECEIVE_OFFSET, 8 * (MSG_MAX_LENGTH + MSG_MAX_EXTRA_CAPS + 2));
        assert_eq!(offset_of!(IpcBuffer, receive_depth), 1016);
    }
}
