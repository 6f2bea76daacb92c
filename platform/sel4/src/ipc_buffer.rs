//! The IPC buffer (`seL4_IPCBuffer`: `libsel4/include/sel4/shared_types.h`):
//! message registers beyond those passed in CPU registers, extra caps or
//! received badges, and where received caps go.
//!
//! Accessors take the buffer explicitly. The invocations of this crate reach
//! the calling thread's buffer through one registered reference
//! ([`set_ipc_buffer`]), borrowed only for the moment they fill or read it and
//! never across a system call: the kernel reads and writes the buffer during
//! the call, which no live Rust reference may overlap.

use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::abi::message_info::{MSG_MAX_EXTRA_CAPS, MSG_MAX_LENGTH};
use crate::{CPtr, Word};

/// Layout of the IPC buffer, aligned to its size as libsel4's
/// `seL4_IPCBuffer` is (the kernel itself asks only 512 bytes of a buffer's
/// address: `src/arch/x86/kernel/vspace.c:checkValidIPCBuffer`).
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

// `repr(align)` takes only a literal: check it is the size the fields give,
// as libsel4's `__aligned__(sizeof(struct seL4_IPCBuffer_))` says.
const _: () = assert!(core::mem::align_of::<IpcBuffer>() == core::mem::size_of::<IpcBuffer>());

impl IpcBuffer {
    /// Message register `i` as stored in the buffer (MR0..MR3 travel in
    /// registers; the buffer holds MR4 and up). Out of range: `None`.
    pub fn get_mr(&self, i: usize) -> Option<Word> {
        self.msg.get(i).copied()
    }

    /// Stores message register `i`; out of range: `false`, nothing written.
    pub fn set_mr(&mut self, i: usize, v: Word) -> bool {
        self.msg.get_mut(i).map(|m| *m = v).is_some()
    }

    /// Stores extra cap `i` of the next message; out of range: `false`.
    pub fn set_cap(&mut self, i: usize, cptr: CPtr) -> bool {
        self.caps_or_badges.get_mut(i).map(|c| *c = cptr.bits()).is_some()
    }

    /// Badge of unwrapped cap `i` of the last received message.
    pub fn get_badge(&self, i: usize) -> Option<Word> {
        self.caps_or_badges.get(i).copied()
    }

    /// Sets where caps received with the next message are stored.
    pub fn set_receive_path(&mut self, cnode: CPtr, index: CPtr, depth: usize) {
        self.receive_cnode = cnode.bits();
        self.receive_index = index.bits();
        self.receive_depth = depth as Word;
    }

    pub fn user_data(&self) -> Word {
        self.user_data
    }

    pub fn set_user_data(&mut self, v: Word) {
        self.user_data = v;
    }
}

/// The registered buffer; null while none is registered or while it is
/// borrowed (the borrower holds the only pointer).
static IPC_BUFFER: AtomicPtr<IpcBuffer> = AtomicPtr::new(ptr::null_mut());

/// Registers `buffer` as the IPC buffer this crate's invocations use: it must
/// be the calling thread's buffer (the one the kernel reads and writes during
/// this thread's system calls), or messages go wrong. A buffer registered
/// before is dropped from the registry.
///
/// # Safety
/// No thread other than the caller makes invocations through this crate
/// while a buffer is registered: the registry is one per address space, so
/// another thread's invocations would borrow this thread's buffer, which the
/// kernel writes during this thread's system calls. (Other threads' plain
/// system calls, such as `yield_now`, do not touch the registry.)
pub unsafe fn set_ipc_buffer(buffer: &'static mut IpcBuffer) {
    IPC_BUFFER.store(buffer, Ordering::Release);
}

/// Puts the borrowed pointer back when the borrow ends, also by unwinding.
struct Borrow(*mut IpcBuffer);

impl Drop for Borrow {
    fn drop(&mut self) {
        // If a new buffer was registered meanwhile, it stays.
        let _ = IPC_BUFFER.compare_exchange(ptr::null_mut(), self.0, Ordering::Release, Ordering::Relaxed);
    }
}

/// Message word `i` of the last message received, as the registered IPC buffer holds it: words
/// from 4 on (`seL4_FastMessageRegisters`; the first ones come in registers, see
/// [`crate::syscalls::Received`]). `None` past the buffer's message words.
///
/// # Panics
/// If no buffer is registered.
pub fn message_word(i: usize) -> Option<Word> {
    with_ipc_buffer(|b| b.get_mr(i))
}

/// Sets message word `i` of the next message in the registered IPC buffer: words from 4 on
/// (the first ones go in registers). `false` past the buffer's message words.
///
/// # Panics
/// If no buffer is registered.
pub fn set_message_word(i: usize, w: Word) -> bool {
    with_ipc_buffer(|b| b.set_mr(i, w))
}

/// Runs `f` on the registered IPC buffer. `f` must make no system call (the
/// kernel would write the buffer under the reference); within this crate it
/// only fills or reads the buffer.
///
/// # Panics
/// If no buffer is registered, or `f` is already running (re-entry).
pub(crate) fn with_ipc_buffer<R>(f: impl FnOnce(&mut IpcBuffer) -> R) -> R {
    let p = IPC_BUFFER.swap(ptr::null_mut(), Ordering::Acquire);
    assert!(!p.is_null(), "no IPC buffer registered (sel4::set_ipc_buffer), or it is in use");
    let _back = Borrow(p);
    // SAFETY: `p` came from the `&'static mut IpcBuffer` given to
    // `set_ipc_buffer`, so it is valid, aligned and points to a live buffer.
    // The swap took the registry's only copy, so no other reference to the
    // buffer exists until `_back` returns it; `f` makes no system call, so the
    // kernel does not touch the buffer meanwhile (and `set_ipc_buffer`'s
    // caller promised no other thread makes calls).
    f(unsafe { &mut *p })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn receive_words_follow_message_and_caps() {
        // loadCapTransfer reads word seL4_MsgMaxLength + seL4_MsgMaxExtraCaps + 2.
        assert_eq!(offset_of!(IpcBuffer, receive_cnode), 8 * (MSG_MAX_LENGTH + MSG_MAX_EXTRA_CAPS + 2));
    }

    fn boxed() -> Box<IpcBuffer> {
        // SAFETY: IpcBuffer is plain words, for which all-zero bytes are a valid value.
        Box::new(unsafe { core::mem::zeroed() })
    }

    #[test]
    fn accessors_stay_in_range() {
        let mut b = boxed();
        assert!(b.set_mr(MSG_MAX_LENGTH - 1, 7));
        assert!(!b.set_mr(MSG_MAX_LENGTH, 7));
        assert_eq!((b.get_mr(MSG_MAX_LENGTH - 1), b.get_mr(MSG_MAX_LENGTH)), (Some(7), None));
        assert!(b.set_cap(MSG_MAX_EXTRA_CAPS - 1, CPtr::from_bits(9)));
        assert!(!b.set_cap(MSG_MAX_EXTRA_CAPS, CPtr::from_bits(9)));
        assert_eq!(b.get_badge(MSG_MAX_EXTRA_CAPS - 1), Some(9));
        b.set_receive_path(CPtr::from_bits(1), CPtr::from_bits(2), 3);
        assert_eq!((b.receive_cnode, b.receive_index, b.receive_depth), (1, 2, 3));
        b.set_user_data(5);
        assert_eq!(b.user_data(), 5);
    }

    /// The registry lends the buffer out once at a time and gets it back.
    #[test]
    fn registered_buffer_is_lent_and_returned() {
        // SAFETY: tests run on threads of their own, but this is the only test
        // that uses the registry, and no test makes system calls.
        unsafe { set_ipc_buffer(Box::leak(boxed())) };
        with_ipc_buffer(|b| b.set_mr(4, 44));
        assert_eq!(with_ipc_buffer(|b| b.get_mr(4)), Some(44));
        let nested = std::panic::catch_unwind(|| with_ipc_buffer(|_| with_ipc_buffer(|_| ())));
        assert!(nested.is_err(), "a second borrow while one is live panics");
        // The outer borrow ended by unwinding and put the buffer back.
        assert_eq!(with_ipc_buffer(|b| b.get_mr(4)), Some(44));
    }
}
