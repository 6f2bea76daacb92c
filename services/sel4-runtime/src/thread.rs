//! Threads the program starts through a TCB session: their entry point.

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
