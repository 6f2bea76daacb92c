//! `print!`/`println!` into core's log. The text of one `print!` is packed into as few log
//! requests as it takes ([`LOG_BYTES`] each, so they fit the kernel's fastpath) and each is
//! sent as an seL4 Call before the next, so core gets the text in order. Core's answer is not
//! looked at: there is nothing a service could do about a lost line.

use core::fmt;

use sel4_core_protocol::request::{Request, LOG_BYTES};

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

/// Core's log as a `fmt::Write`: each `write_fmt` (or `write_str`) is sent whole.
pub struct Log;

impl fmt::Write for Log {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_fmt(format_args!("{s}"))
    }

    fn write_fmt(&mut self, args: fmt::Arguments) -> fmt::Result {
        _print(args);
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let mut out = Chunks::new(|r| {
        crate::call_core(&r);
    });
    // Chunks never fails; an error of a Display impl ends the text early.
    let _ = fmt::Write::write_fmt(&mut out, args);
    out.flush();
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
