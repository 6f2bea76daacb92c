//! Threads the program starts through a TCB session: [`spawn`] runs a closure on a new thread
//! with a stack from the heap, and [`JoinHandle::join`] waits for it and destroys the thread;
//! [`thread_entry!`] is the bare entry point for a thread the program sets up itself.

use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use sel4_core_protocol::session::Thread;
use sel4_core_protocol::{SessionError, TcbSession};

use crate::Core;

/// Defines `$entry`, the entry point of a thread that runs `$body(arg)` (an
/// `extern "C" fn(u64) -> !`), for `TcbSetup`. Core starts a thread with its stack pointer
/// 16-byte aligned (the protocol's rule); a called function expects it 8 bytes below that
/// (its return address), so the entry makes room first, then jumps to the body.
#[macro_export]
macro_rules! thread_entry {
    ($entry:ident => $body:path) => {
        core::arch::global_asm!(
            concat!(".global ", stringify!($entry)),
            concat!(stringify!($entry), ":"),
            "sub rsp, 8",
            "jmp {body}",
            body = sym $body,
        );

        extern "C" {
            fn $entry();
        }
    };
}

/// A thread started with [`spawn`]: [`JoinHandle::join`] waits for its closure to return and
/// destroys it.
pub struct JoinHandle {
    threads: TcbSession,
    thread: Thread,
    start: *const Start,
    /// Its stack, freed once the thread is destroyed.
    stack: Box<[u128]>,
}

/// What a spawned thread runs, and whether it is done.
struct Start {
    run: UnsafeCell<Option<Box<dyn FnOnce() + Send>>>,
    done: AtomicBool,
}

/// Bytes of a spawned thread's stack unless [`spawn_with`] says.
pub const DEFAULT_STACK: usize = 64 << 10;

crate::thread_entry!(sel4_runtime_spawned => spawned);

extern "C" fn spawned(arg: u64) -> ! {
    // SAFETY: `arg` is the `Start` that `spawn_with` leaked for this thread and frees only in
    // `join`, after this thread said it is done and was destroyed; only this thread takes
    // `run`, once, before `done` is set.
    let start = unsafe { &*(arg as *const Start) };
    // SAFETY: as above: this thread is the only one that touches `run`.
    if let Some(run) = unsafe { (*start.run.get()).take() } {
        run();
    }
    start.done.store(true, Ordering::Release);
    // Nothing is left to run; `join` destroys this thread.
    loop {
        sel4::syscalls::yield_now();
    }
}

/// Starts a thread in this service through `threads` (a TCB session) at priority `prio`,
/// running `f` on a stack of [`DEFAULT_STACK`] bytes from the heap.
pub fn spawn(threads: TcbSession, prio: u8, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle, SessionError> {
    spawn_with(threads, prio, DEFAULT_STACK, f)
}

/// [`spawn`] with a stack of `stack` bytes (rounded up to 16).
pub fn spawn_with(
    threads: TcbSession,
    prio: u8,
    stack: usize,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle, SessionError> {
    let stack: Box<[u128]> = alloc::vec![0u128; stack.div_ceil(16).max(1)].into_boxed_slice();
    let top = stack.as_ptr() as u64 + (stack.len() * 16) as u64;
    let start =
        Box::into_raw(Box::new(Start { run: UnsafeCell::new(Some(Box::new(f))), done: AtomicBool::new(false) }));
    let made = threads.create(&mut Core, prio).and_then(|thread| {
        let entry = sel4_runtime_spawned as *const () as u64;
        let set =
            threads.setup(&mut Core, thread, entry, top, start as u64).and_then(|()| threads.start(&mut Core, thread));
        match set {
            Ok(()) => Ok(thread),
            Err(e) => {
                let _ = threads.destroy(&mut Core, thread);
                Err(e)
            }
        }
    });
    match made {
        Ok(thread) => Ok(JoinHandle { threads, thread, start, stack }),
        Err(e) => {
            // SAFETY: no thread was started with `start`; this is its only owner.
            drop(unsafe { Box::from_raw(start) });
            Err(e)
        }
    }
}

impl JoinHandle {
    /// Whether the thread's closure has returned.
    pub fn is_finished(&self) -> bool {
        // SAFETY: `start` lives until `join` frees it, which takes `self`.
        unsafe { &*self.start }.done.load(Ordering::Acquire)
    }

    /// Waits (yielding) until the thread's closure returned, then destroys the thread and frees
    /// its stack.
    pub fn join(self) -> Result<(), SessionError> {
        while !self.is_finished() {
            sel4::syscalls::yield_now();
        }
        let destroyed = self.threads.destroy(&mut Core, self.thread);
        if destroyed.is_err() {
            // Still running (it yields on its stack): both stay, for good.
            core::mem::forget(self.stack);
            return destroyed;
        }
        // SAFETY: the thread is done with `start` (it set `done` after its last use) and,
        // destroyed, runs no more.
        drop(unsafe { Box::from_raw(self.start as *mut Start) });
        drop(self.stack);
        Ok(())
    }
}
