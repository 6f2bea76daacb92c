//! Requests a child sends core: a label and up to [`MAX_WORDS`] words; [`Request::decode`]
//! checks every field of any label and words and gives a request or why there is none.

use crate::reply::ErrorCode;
use crate::MAX_WORDS;

/// Bytes a log request carries (three words after the length).
pub const LOG_BYTES: usize = 8 * (MAX_WORDS - 1);

/// The message label of each request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Label {
    /// Text for core's log: word 0 = byte count (at most [`LOG_BYTES`]), words 1.. = the bytes,
    /// little-endian.
    Log = 1,
    /// The child is done: word 0 = its exit code. Core answers by reclaiming it.
    Exit = 2,
}

impl Label {
    pub fn from_word(w: u64) -> Option<Label> {
        match w {
            1 => Some(Label::Log),
            2 => Some(Label::Exit),
            _ => None,
        }
    }
}

/// A request, decoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Log { len: u8, bytes: [u8; LOG_BYTES] },
    Exit { code: u64 },
}

impl Request {
    /// A log request for the first [`LOG_BYTES`] of `text` (the caller sends the rest in more).
    pub fn log(text: &[u8]) -> Request {
        let len = text.len().min(LOG_BYTES);
        let mut bytes = [0; LOG_BYTES];
        bytes[..len].copy_from_slice(&text[..len]);
        Request::Log { len: len as u8, bytes }
    }

    /// Label and words of the message.
    pub fn encode(&self) -> (u64, [u64; MAX_WORDS], usize) {
        let mut w = [0u64; MAX_WORDS];
        match *self {
            Request::Log { len, bytes } => {
                w[0] = len as u64;
                for (i, chunk) in bytes.chunks(8).enumerate() {
                    let mut b = [0u8; 8];
                    b[..chunk.len()].copy_from_slice(chunk);
                    w[1 + i] = u64::from_le_bytes(b);
                }
                (Label::Log as u64, w, 1 + (len as usize).div_ceil(8))
            }
            Request::Exit { code } => {
                w[0] = code;
                (Label::Exit as u64, w, 1)
            }
        }
    }

    /// The request a message carries: an unknown label, a length the label does not take, or a
    /// field out of range is [`ErrorCode::InvalidRequest`].
    pub fn decode(label: u64, words: &[u64]) -> Result<Request, ErrorCode> {
        match Label::from_word(label).ok_or(ErrorCode::InvalidRequest)? {
            Label::Log => {
                let (&len, rest) = words.split_first().ok_or(ErrorCode::InvalidRequest)?;
                if len > LOG_BYTES as u64 || rest.len() != (len as usize).div_ceil(8) {
                    return Err(ErrorCode::InvalidRequest);
                }
                let mut bytes = [0u8; LOG_BYTES];
                for (i, w) in rest.iter().enumerate() {
                    bytes[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
                }
                // Bytes past `len` in the last word are not part of the request.
                for b in bytes[len as usize..].iter_mut() {
                    *b = 0;
                }
                Ok(Request::Log { len: len as u8, bytes })
            }
            Label::Exit => match words {
                [code] => Ok(Request::Exit { code: *code }),
                _ => Err(ErrorCode::InvalidRequest),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn log_and_exit_round_trip() {
        for r in [Request::log(b"hello, core"), Request::log(b""), Request::log(&[b'x'; 40]), Request::Exit { code: 7 }]
        {
            let (label, w, n) = r.encode();
            assert_eq!(Request::decode(label, &w[..n]), Ok(r));
        }
        assert_eq!(Request::log(&[b'x'; 40]), Request::log(&[b'x'; LOG_BYTES]));
    }

    #[test]
    fn wrong_labels_and_lengths_are_invalid_requests() {
        assert_eq!(Request::decode(0, &[]), Err(ErrorCode::InvalidRequest));
        assert_eq!(Request::decode(99, &[1]), Err(ErrorCode::InvalidRequest));
        assert_eq!(Request::decode(Label::Exit as u64, &[]), Err(ErrorCode::InvalidRequest));
        assert_eq!(Request::decode(Label::Exit as u64, &[1, 2]), Err(ErrorCode::InvalidRequest));
        assert_eq!(Request::decode(Label::Log as u64, &[9, 0]), Err(ErrorCode::InvalidRequest));
        assert_eq!(Request::decode(Label::Log as u64, &[25, 0, 0, 0]), Err(ErrorCode::InvalidRequest));
    }

    proptest! {
        #[test]
        fn any_message_decodes_to_a_request_that_encodes_back_or_to_an_error(
            label in 0u64..8,
            words in proptest::collection::vec(any::<u64>(), 0..=MAX_WORDS),
        ) {
            if let Ok(r) = Request::decode(label, &words) {
                let (l, w, n) = r.encode();
                prop_assert_eq!(l, label);
                prop_assert_eq!(Request::decode(l, &w[..n]), Ok(r));
            }
        }

        #[test]
        fn every_log_text_round_trips(text in proptest::collection::vec(any::<u8>(), 0..=LOG_BYTES)) {
            let r = Request::log(&text);
            let (l, w, n) = r.encode();
            prop_assert!(n <= MAX_WORDS);
            prop_assert_eq!(Request::decode(l, &w[..n]), Ok(r));
            if let Request::Log { len, bytes } = r {
                prop_assert_eq!(&bytes[..len as usize], &text[..]);
            }
        }
    }
}
