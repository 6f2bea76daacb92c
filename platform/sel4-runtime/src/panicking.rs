//! Panic handler: prints the location and message to core's log, then exits with
//! [`EXIT_PANIC`](crate::EXIT_PANIC). A panic while panicking (e.g. in a `Display` impl of the
//! message) skips printing.

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    if !PANICKING.swap(true, Ordering::SeqCst) {
        match info.location() {
            Some(l) => crate::println!("panicked at {}:{}:{}: {}", l.file(), l.line(), l.column(), info.message()),
            None => crate::println!("panicked: {}", info.message()),
        }
    }
    crate::exit(crate::EXIT_PANIC)
}
