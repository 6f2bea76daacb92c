//! Panic handler: the location and message on the console (`sel4_runtime_common::report_panic`),
//! then QEMU exits with failure.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    sel4_runtime_common::report_panic(info, &mut crate::printing::Writer);
    crate::exit(false)
}
