//! `print!`/`println!` through a pluggable byte sink. The default sink is
//! the kernel's `seL4_DebugPutChar` on a kernel with `CONFIG_PRINTING`
//! (DebugPutChar exists only with `DEBUG_BUILD` and prints only with
//! `PRINTING`), and the COM1 UART driven through the IOPort cap otherwise.

use core::fmt;
use core::sync::atomic::{AtomicPtr, Ordering};

/// Receives every printed byte string.
pub type Sink = fn(&[u8]);

/// Null means "the default sink".
static SINK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Sends all later output to `sink`.
pub fn set_sink(sink: Sink) {
    SINK.store(sink as *mut (), Ordering::SeqCst);
}

fn sink() -> Sink {
    let p = SINK.load(Ordering::SeqCst);
    if p.is_null() {
        default_sink
    } else {
        // SAFETY: only `set_sink` stores non-null values, all of type `Sink`.
        unsafe { core::mem::transmute::<*mut (), Sink>(p) }
    }
}

#[cfg(sel4_cfg_printing)]
fn default_sink(bytes: &[u8]) {
    debug_put_char_sink(bytes)
}

#[cfg(not(sel4_cfg_printing))]
fn default_sink(bytes: &[u8]) {
    com1::write(bytes)
}

/// Writes through `seL4_DebugPutChar`.
#[cfg(sel4_cfg_debug_build)]
pub fn debug_put_char_sink(bytes: &[u8]) {
    for &b in bytes {
        sel4::syscalls::debug_put_char(b);
    }
}

/// A 16550 UART at COM1 (I/O ports 0x3f8..0x3ff), driven through the
/// initial IOPort cap.
pub mod com1 {
    use core::sync::atomic::{AtomicBool, Ordering};
    use sel4::init_thread::IO_PORT;

    const BASE: u16 = 0x3f8;
    const LINE_STATUS: u16 = BASE + 5;
    const TX_EMPTY: u8 = 1 << 5;
    static READY: AtomicBool = AtomicBool::new(false);

    /// Programs 115200 baud, 8N1, FIFOs on, interrupts off.
    pub fn init() -> sel4::Result<()> {
        for (off, v) in [(1, 0x00), (3, 0x80), (0, 0x01), (1, 0x00), (3, 0x03), (2, 0xc7), (4, 0x03)] {
            IO_PORT.ioport_out8(BASE + off, v)?;
        }
        READY.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Sink writing to COM1 (initialising it on first use); output is
    /// dropped if the IOPort cap refuses.
    pub fn write(bytes: &[u8]) {
        if !READY.load(Ordering::SeqCst) && init().is_err() {
            return;
        }
        for &b in bytes {
            if b == b'\n' && put(b'\r').is_err() {
                return;
            }
            if put(b).is_err() {
                return;
            }
        }
    }

    fn put(b: u8) -> sel4::Result<()> {
        while IO_PORT.ioport_in8(LINE_STATUS)? & TX_EMPTY == 0 {}
        IO_PORT.ioport_out8(BASE, b)
    }
}

/// `fmt::Write` into the current sink.
pub struct Writer;

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        sink()(s.as_bytes());
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let _ = fmt::Write::write_fmt(&mut Writer, args);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::printing::_print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::printing::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    fn capture(b: &[u8]) {
        CAPTURED.lock().unwrap().extend_from_slice(b);
    }

    #[test]
    fn output_goes_to_the_installed_sink() {
        set_sink(capture);
        crate::print!("a{}", 1);
        crate::println!(" b {:#x}", 255);
        crate::println!();
        assert_eq!(&*CAPTURED.lock().unwrap(), b"a1 b 0xff\n\n");
    }
}
