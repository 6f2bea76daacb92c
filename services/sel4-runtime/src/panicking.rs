//! Panic handler: the location and message to core's log (`sel4_runtime_common::report_panic`),
//! then an exit with [`EXIT_PANIC`](crate::EXIT_PANIC); or, when the panic is `alloc`'s for an
//! allocation the heap could not serve (`heap::failure`), what was asked and what the heap
//! setting had left (no panic report: the failure is the heap's, not the program's) and an exit
//! with [`EXIT_ALLOC`](crate::EXIT_ALLOC).

use core::fmt::Write;
use core::panic::PanicInfo;

/// The start of a panic message, kept to compare.
struct Head {
    bytes: [u8; 64],
    len: usize,
}

impl Write for Head {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Whether the panic is `alloc::alloc::handle_alloc_error`'s ("memory allocation of N bytes
/// failed").
fn alloc_error(info: &PanicInfo) -> bool {
    let mut head = Head { bytes: [0; 64], len: 0 };
    let _ = write!(head, "{}", info.message());
    let text = &head.bytes[..head.len];
    text.starts_with(b"memory allocation of ") && text.ends_with(b" bytes failed")
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    if let Some(f) = crate::heap::failure().filter(|_| alloc_error(info)) {
        let _ = writeln!(
            crate::log::Log,
            "heap: allocation of {} bytes failed: {}; {} of the heap setting of {} bytes left",
            f.size,
            f.why,
            f.left,
            crate::heap::limit()
        );
        crate::exit(crate::EXIT_ALLOC)
    }
    sel4_runtime_common::report_panic(info, &mut crate::log::Log);
    crate::exit(crate::EXIT_PANIC)
}
