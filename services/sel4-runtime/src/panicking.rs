//! Panic handler: the location and message to core's log (`sel4_runtime_common::report_panic`),
//! then an exit with [`EXIT_PANIC`](crate::EXIT_PANIC).

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    sel4_runtime_common::report_panic(info, &mut crate::log::Log);
    crate::exit(crate::EXIT_PANIC)
}
