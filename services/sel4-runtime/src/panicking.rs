//! Panic handler: the location and message to core's log (`sel4_runtime_common::report_panic`),
//! then an exit with [`EXIT_PANIC`](crate::EXIT_PANIC); or, when the panic is `alloc`'s for an
//! allocation the heap could not serve (`heap::failure`), what was asked and what the heap
//! setting had left, and an exit with [`EXIT_ALLOC`](crate::EXIT_ALLOC).

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    sel4_runtime_common::report_panic(info, &mut crate::log::Log);
    if let Some(f) = crate::heap::failure() {
        // Nothing allocated since the failure: this panic is `handle_alloc_error`'s.
        let limit = crate::heap::limit();
        crate::println!(
            "heap: allocation of {} bytes failed: {}; {} of the heap setting of {limit} bytes left",
            f.size,
            f.why,
            f.left
        );
        crate::exit(crate::EXIT_ALLOC)
    }
    crate::exit(crate::EXIT_PANIC)
}
