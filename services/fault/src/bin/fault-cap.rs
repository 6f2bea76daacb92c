//! A cap fault: calls through a CPtr no lookup resolves.
#![no_std]
#![no_main]

use fault::{Survived, BAD_CPTR};
use sel4::{syscalls, CPtr, MessageInfo};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_: usize) -> Result<(), Survived> {
    fault::let_others_run();
    println!("fault-cap: calling CPtr {BAD_CPTR:#x}");
    // A Call whose CPtr fails to resolve is a cap fault for the caller
    // (`src/api/syscall.c:handleInvocation`, after `lookupCapAndSlot`).
    syscalls::call(CPtr::from_bits(BAD_CPTR), MessageInfo::new(0, 0, 0, 0), [0; 4]);
    Err(Survived("fault-cap"))
}
