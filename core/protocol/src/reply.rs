//! Core's answer to a request: label 0 and up to [`MAX_WORDS`] result words, or an error code
//! as the label and no words. What the words mean per request is [`crate::answer`]'s.

use core::fmt;

use crate::MAX_WORDS;

/// Why core refused a request. A refused request changed nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum ErrorCode {
    /// Unknown label, or a message longer or shorter than the label takes.
    InvalidRequest = 1,
    /// A field is out of range, has reserved bits set, or is inconsistent with another.
    InvalidArgument = 2,
    /// An unknown, foreign or stale session or object.
    InvalidHandle = 3,
    /// The session's RAM quota does not cover what the request costs.
    OutOfRamQuota = 4,
    /// The session's cap quota does not cover what the request costs.
    OutOfCapQuota = 5,
    /// Nothing free satisfies the request's constraints.
    NoMemory = 6,
    /// Not allowed (e.g. a priority above the child's own).
    Denied = 7,
    /// Core's record of the session (or of the child's sessions) has no room for one more
    /// object, dataspace, CNode, thread or session: a fixed capacity
    /// ([`crate::charges`] names them), whatever quota is left.
    OutOfRecords = 8,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidHandle,
        ErrorCode::OutOfRamQuota,
        ErrorCode::OutOfCapQuota,
        ErrorCode::NoMemory,
        ErrorCode::Denied,
        ErrorCode::OutOfRecords,
    ];

    /// The error of a reply label (0 is success, not an error).
    pub fn from_label(label: u64) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|e| *e as u64 == label)
    }

    /// The name scripts and logs use.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "InvalidRequest",
            ErrorCode::InvalidArgument => "InvalidArgument",
            ErrorCode::InvalidHandle => "InvalidHandle",
            ErrorCode::OutOfRamQuota => "OutOfRamQuota",
            ErrorCode::OutOfCapQuota => "OutOfCapQuota",
            ErrorCode::NoMemory => "NoMemory",
            ErrorCode::Denied => "Denied",
            ErrorCode::OutOfRecords => "OutOfRecords",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The result words of a successful reply; words past the length are zero, so that equal
/// results compare equal.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Words {
    words: [u64; MAX_WORDS],
    len: usize,
}

impl Words {
    pub const EMPTY: Words = Words { words: [0; MAX_WORDS], len: 0 };

    /// The words, if there are at most [`MAX_WORDS`].
    pub fn new(words: &[u64]) -> Option<Words> {
        let mut w = Words::EMPTY;
        w.words.get_mut(..words.len())?.copy_from_slice(words);
        w.len = words.len();
        Some(w)
    }

    pub fn as_slice(&self) -> &[u64] {
        &self.words[..self.len]
    }
}

/// A reply, decoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Ok(Words),
    Err(ErrorCode),
}

/// A message that is no reply: an unknown label, words with an error, or more than
/// [`MAX_WORDS`] words. Core never sends one; a client that gets one reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MalformedReply {
    pub label: u64,
    pub len: usize,
}

impl fmt::Display for MalformedReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed reply (label {:#x}, {} words)", self.label, self.len)
    }
}

impl Reply {
    /// Label and words of the message.
    pub fn encode(&self) -> (u64, [u64; MAX_WORDS], usize) {
        match *self {
            Reply::Ok(w) => (0, w.words, w.len),
            Reply::Err(e) => (e as u64, [0; MAX_WORDS], 0),
        }
    }

    /// The reply a message carries.
    pub fn decode(label: u64, words: &[u64]) -> Result<Reply, MalformedReply> {
        let malformed = MalformedReply { label, len: words.len() };
        match (label, ErrorCode::from_label(label)) {
            (0, _) => Words::new(words).map(Reply::Ok).ok_or(malformed),
            (_, Some(e)) if words.is_empty() => Ok(Reply::Err(e)),
            _ => Err(malformed),
        }
    }

    pub fn into_result(self) -> Result<Words, ErrorCode> {
        match self {
            Reply::Ok(w) => Ok(w),
            Reply::Err(e) => Err(e),
        }
    }
}

impl From<Result<Words, ErrorCode>> for Reply {
    fn from(r: Result<Words, ErrorCode>) -> Reply {
        match r {
            Ok(w) => Reply::Ok(w),
            Err(e) => Reply::Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn labels_round_trip_and_zero_is_no_error() {
        for e in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_label(e as u64), Some(e));
        }
        assert_eq!(ErrorCode::from_label(0), None);
        assert_eq!(ErrorCode::from_label(9), None);
    }

    #[test]
    fn names_are_the_ones_scripts_use() {
        let names = ErrorCode::ALL.map(ErrorCode::name);
        assert_eq!(
            names,
            [
                "InvalidRequest",
                "InvalidArgument",
                "InvalidHandle",
                "OutOfRamQuota",
                "OutOfCapQuota",
                "NoMemory",
                "Denied",
                "OutOfRecords"
            ]
        );
    }

    #[test]
    fn what_is_no_reply_is_malformed() {
        assert_eq!(Reply::decode(0, &[1, 2, 3, 4, 5]), Err(MalformedReply { label: 0, len: 5 }));
        assert_eq!(Reply::decode(ErrorCode::Denied as u64, &[1]), Err(MalformedReply { label: 7, len: 1 }));
        assert_eq!(Reply::decode(9, &[]), Err(MalformedReply { label: 9, len: 0 }));
        assert_eq!(Reply::decode(0, &[]), Ok(Reply::Ok(Words::EMPTY)));
        assert_eq!(Words::new(&[0; 5]), None);
    }

    fn any_reply() -> impl Strategy<Value = Reply> {
        prop_oneof![
            proptest::collection::vec(any::<u64>(), 0..=MAX_WORDS)
                .prop_filter_map("fits", |w| Words::new(&w))
                .prop_map(Reply::Ok),
            proptest::sample::select(ErrorCode::ALL.to_vec()).prop_map(Reply::Err),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_reply_round_trips(reply in any_reply()) {
            let (label, w, n) = reply.encode();
            prop_assert!(n <= MAX_WORDS);
            prop_assert_eq!(Reply::decode(label, &w[..n]), Ok(reply));
        }

        #[test]
        fn any_message_is_a_reply_that_encodes_back_or_malformed(
            label in 0u64..10,
            words in proptest::collection::vec(any::<u64>(), 0..=2 * MAX_WORDS),
        ) {
            if let Ok(reply) = Reply::decode(label, &words) {
                let (l, w, n) = reply.encode();
                prop_assert_eq!((l, &w[..n]), (label, &words[..]));
            }
        }
    }
}
