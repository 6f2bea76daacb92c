//! `print!`/`println!` into core's log. The text goes into the service's log buffer (the page
//! core maps at `abi::LOG_BUFFER` in the service and in core) and one `LogBuffer` request hands
//! core its length: one round trip per `print!` of up to a page (a longer text takes one per
//! page), whatever its length in words. The buffer is the service's one: a lock (shared with no
//! other use) keeps the text of one `print!` together, so the lines of threads that print at
//! once do not interleave within a `println!`. Core's answer is not looked at: there is nothing
//! a service could do about a lost line.
//!
//! A `print!` waits for the buffer's lock a bounded number of turns ([`PATIENCE`] yields); if
//! it is still taken then (its holder was destroyed while printing: a thread its program
//! stopped for good, or a panic in the middle of a `print!`'s formatting), the text goes as
//! inline `Log` requests instead, packed [`LOG_BYTES`] to a request ([`Chunks`]): lines may then
//! interleave, but nothing waits for ever.

use core::fmt;

use sel4_core_protocol::abi::{LOG_BUFFER, LOG_BUFFER_BYTES};
use sel4_core_protocol::request::{Request, LOG_BYTES};

use crate::sync::Mutex;

/// Packs bytes into log requests of [`LOG_BYTES`], handing each full one to `send`;
/// [`Chunks::flush`] sends the rest.
pub struct Chunks<F: FnMut(Request)> {
    buf: [u8; LOG_BYTES],
    len: usize,
    send: F,
}

impl<F: FnMut(Request)> Chunks<F> {
    pub fn new(send: F) -> Self {
        Chunks { buf: [0; LOG_BYTES], len: 0, send }
    }

    /// Appends `bytes`, sending every request that fills up.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = (LOG_BYTES - self.len).min(bytes.len());
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
            if self.len == LOG_BYTES {
                self.flush();
            }
        }
    }

    /// Sends what is buffered, if anything.
    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.send)(Request::log(&self.buf[..self.len]));
            self.len = 0;
        }
    }
}

impl<F: FnMut(Request)> fmt::Write for Chunks<F> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Packs bytes into the buffer of `cap` bytes at `at`, handing the length to `send` whenever
/// it is full; [`Pages::flush`] sends the rest.
pub struct Pages<F: FnMut(u64)> {
    at: *mut u8,
    cap: usize,
    len: usize,
    send: F,
}

impl<F: FnMut(u64)> Pages<F> {
    /// # Safety
    /// `[at, at + cap)` is writable and nothing else reads or writes it while this lives (but
    /// `send`, which may read the `len` bytes it is handed).
    pub unsafe fn new(at: *mut u8, cap: usize, send: F) -> Self {
        Pages { at, cap, len: 0, send }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = (self.cap - self.len).min(bytes.len());
            // SAFETY: `len + n <= cap`, inside the buffer `new`'s caller vouches for; `bytes`
            // is the caller's, so the two do not overlap.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.at.add(self.len), n) };
            self.len += n;
            bytes = &bytes[n..];
            if self.len == self.cap {
                self.flush();
            }
        }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.send)(self.len as u64);
            self.len = 0;
        }
    }
}

impl<F: FnMut(u64)> fmt::Write for Pages<F> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// The log buffer's lock: whoever holds it writes the page.
static BUFFER: Mutex<()> = Mutex::new(());

/// Writes `args` through the log buffer (whose lock the caller holds).
fn through_buffer(args: fmt::Arguments) {
    let send = |len| {
        crate::call_core(&Request::LogBuffer { len });
    };
    // SAFETY: core maps the log buffer's page writable at `LOG_BUFFER` for the life of the
    // service, and the caller holds `BUFFER`, so no other thread of this service writes it;
    // core reads it only while it serves the `LogBuffer` request `send` makes.
    let mut out = unsafe { Pages::new(LOG_BUFFER as *mut u8, LOG_BUFFER_BYTES as usize, send) };
    // Pages never fails; an error of a Display impl ends the text early.
    let _ = fmt::Write::write_fmt(&mut out, args);
    out.flush();
}

/// Writes `args` as inline log requests, [`LOG_BYTES`] each (the panic handler's way when the
/// buffer is taken, and the way of every line before the buffer; benchmarks compare the two).
pub fn inline(args: fmt::Arguments) {
    let mut out = Chunks::new(|r| {
        crate::call_core(&r);
    });
    let _ = fmt::Write::write_fmt(&mut out, args);
    out.flush();
}

/// Turns a `print!` waits for the buffer (a yield each) before it sends inline requests. A
/// holder of the same priority needs one turn to finish its line.
pub const PATIENCE: u32 = 1000;

/// Writes `args` through the buffer if its lock comes within `patience` turns, else inline.
fn print_with(args: fmt::Arguments, patience: u32) {
    for turn in 0..=patience {
        if let Some(_held) = BUFFER.try_lock() {
            through_buffer(args);
            return;
        }
        if turn < patience {
            sel4::syscalls::yield_now();
        }
    }
    inline(args);
}

/// Core's log as a `fmt::Write` for the panic handler and exit reports: each `write_fmt` (or
/// `write_str`) is sent whole, through the buffer unless its lock is taken (a panic may come in
/// the middle of this thread's own `print!`: no waiting then).
pub struct Log;

impl fmt::Write for Log {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_fmt(format_args!("{s}"))
    }

    fn write_fmt(&mut self, args: fmt::Arguments) -> fmt::Result {
        print_with(args, 0);
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    print_with(args, PATIENCE);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::log::_print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::log::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    /// Sends `text` through `Chunks` (in pieces of `piece` bytes) and returns every request.
    fn requests(text: &str, piece: usize) -> Vec<Request> {
        let mut sent = Vec::new();
        let mut out = Chunks::new(|r| sent.push(r));
        for p in text.as_bytes().chunks(piece) {
            out.push(p);
        }
        out.flush();
        sent
    }

    fn text_of(requests: &[Request]) -> Vec<u8> {
        let mut text = Vec::new();
        for r in requests {
            // What core reads: the request as the message carries it.
            let (label, words, n) = r.encode();
            match Request::decode(label, &words[..n]) {
                Ok(Request::Log { len, bytes }) => text.extend_from_slice(&bytes[..len as usize]),
                other => panic!("not a log request: {other:?}"),
            }
        }
        text
    }

    #[test]
    fn text_arrives_whole_in_order_in_full_requests() {
        let text = "hello: service 3 running, 65536 bytes of bss zeroed\n";
        for piece in [1, 5, LOG_BYTES, text.len()] {
            let sent = requests(text, piece);
            assert_eq!(text_of(&sent), text.as_bytes(), "pieces of {piece}");
            assert_eq!(sent.len(), text.len().div_ceil(LOG_BYTES), "as few requests as it takes");
            for r in &sent[..sent.len() - 1] {
                assert!(matches!(r, Request::Log { len, .. } if *len as usize == LOG_BYTES));
            }
        }
    }

    #[test]
    fn nothing_is_sent_for_no_text() {
        assert!(requests("", 1).is_empty());
        let mut sent = Vec::new();
        let mut out = Chunks::new(|r| sent.push(r));
        out.write_str("").unwrap();
        out.flush();
        out.flush();
        assert!(sent.is_empty());
    }

    /// Sends `text` through `Pages` of `cap` bytes in pieces of `piece` and returns what each
    /// send saw.
    fn pages(text: &str, cap: usize, piece: usize) -> Vec<Vec<u8>> {
        let mut buf = vec![0u8; cap];
        let at = buf.as_mut_ptr();
        let mut sent = Vec::new();
        // SAFETY: `buf` outlives `out` and only `out` and its `send` touch it.
        let mut out =
            unsafe { Pages::new(at, cap, |len| sent.push(core::slice::from_raw_parts(at, len as usize).to_vec())) };
        for p in text.as_bytes().chunks(piece) {
            out.push(p);
        }
        out.flush();
        let _ = out;
        sent
    }

    #[test]
    fn a_page_takes_one_request() {
        let line = "x".repeat(79) + "\n";
        for piece in [1, 7, 80] {
            assert_eq!(pages(&line, 4096, piece), vec![line.as_bytes().to_vec()], "pieces of {piece}");
        }
        // Longer than a page: one request per page, in order, nothing lost.
        let long: String = (0..10_000).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let sent = pages(&long, 4096, 333);
        assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [4096, 4096, 1808]);
        assert_eq!(sent.concat(), long.as_bytes());
        assert!(pages("", 4096, 1).is_empty());
    }

    #[test]
    fn formatted_text_is_packed_across_arguments() {
        let mut sent = Vec::new();
        let mut out = Chunks::new(|r| sent.push(r));
        let (file, message) = ("src/main.rs", "boom");
        write!(out, "panicked at {file}:{}:{}: {message}", 7, 5).unwrap();
        out.flush();
        assert_eq!(sent.len(), 2);
        assert_eq!(text_of(&sent), b"panicked at src/main.rs:7:5: boom");
    }
}
