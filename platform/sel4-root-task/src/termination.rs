//! Ending the root task: QEMU's isa-debug-exit device (port 0xf4, started
//! with `-device isa-debug-exit,iobase=0xf4,iosize=0x04`) makes QEMU exit
//! with status `2 * value + 1`. On a machine without it the task just stops.

use sel4::init_thread;

/// I/O port of QEMU's isa-debug-exit device.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;
/// Value written for success: QEMU exits with status 33.
pub const EXIT_SUCCESS_VALUE: u8 = 0x10;
/// Value written for failure: QEMU exits with status 3.
pub const EXIT_FAILURE_VALUE: u8 = 0x01;

/// QEMU's exit status for a value written to the exit port.
pub const fn qemu_status(value: u8) -> i32 {
    2 * value as i32 + 1
}

/// Exits QEMU with success or failure, then stops this thread for good.
pub fn exit(success: bool) -> ! {
    let v = if success { EXIT_SUCCESS_VALUE } else { EXIT_FAILURE_VALUE };
    // Errors cannot be reported anywhere useful here; fall through to stop.
    let _ = init_thread::IO_PORT.ioport_out8(DEBUG_EXIT_PORT, v);
    let _ = init_thread::TCB.tcb_suspend();
    loop {
        sel4::syscalls::yield_now();
    }
}

/// What a root task's main function may return: exit code 0 is success (`sel4-runtime-common`).
pub use sel4_runtime_common::Termination;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses() {
        assert_eq!(qemu_status(EXIT_SUCCESS_VALUE), 33);
        assert_eq!(qemu_status(EXIT_FAILURE_VALUE), 3);
    }
}
