//! `seL4_Error` with its detail words, decoded from an error reply
//! (label = error code, MRs = details as written by
//! `src/object/tcb.c:setMRs_syscall_error` and `src/api/faults.c:setMRs_lookup_failure`).
//! Codes are the generated numbers of `libsel4/include/sel4/errors.h` and
//! `libsel4/include/sel4/constants.h` (`seL4_LookupFailureType`).

use core::fmt;

use crate::{sys, Word};

/// Why a CSpace lookup failed (`seL4_LookupFailureType` and its details).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupFailure {
    InvalidRoot,
    MissingCapability {
        bits_left: Word,
    },
    DepthMismatch {
        bits_left: Word,
        bits_found: Word,
    },
    GuardMismatch {
        bits_left: Word,
        guard_found: Word,
        bits_found: Word,
    },
    /// A lookup-failure type this version does not define.
    Unknown {
        kind: Word,
    },
}

impl LookupFailure {
    /// The `seL4_LookupFailureType` number.
    pub const fn code(&self) -> Word {
        match self {
            LookupFailure::InvalidRoot => sys::seL4_InvalidRoot,
            LookupFailure::MissingCapability { .. } => sys::seL4_MissingCapability,
            LookupFailure::DepthMismatch { .. } => sys::seL4_DepthMismatch,
            LookupFailure::GuardMismatch { .. } => sys::seL4_GuardMismatch,
            LookupFailure::Unknown { kind } => *kind,
        }
    }
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupFailure::InvalidRoot => write!(f, "the root is not a CNode cap"),
            LookupFailure::MissingCapability { bits_left } => {
                write!(f, "no capability where the address resolved ({bits_left} bits left)")
            }
            LookupFailure::DepthMismatch { bits_left, bits_found } => {
                write!(f, "depth mismatch: {bits_left} bits left, the next CNode resolves {bits_found}")
            }
            LookupFailure::GuardMismatch { bits_left, guard_found, bits_found } => write!(
                f,
                "guard mismatch: {bits_left} bits left, the CNode's guard is {guard_found:#x} of {bits_found} bits"
            ),
            LookupFailure::Unknown { kind } => write!(f, "lookup failure of unknown type {kind}"),
        }
    }
}

/// An invocation's error reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    InvalidArgument {
        which: Word,
    },
    InvalidCapability {
        which: Word,
    },
    IllegalOperation,
    RangeError {
        min: Word,
        max: Word,
    },
    AlignmentError,
    /// `source` is true when the source lookup (e.g. of CNode_Copy) failed.
    FailedLookup {
        source: bool,
        failure: LookupFailure,
    },
    TruncatedMessage,
    DeleteFirst,
    RevokeFirst,
    NotEnoughMemory {
        bytes_available: Word,
    },
    /// A label that is no `seL4_Error` of this version.
    Unknown {
        label: Word,
    },
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// Decodes a reply: `Ok(())` for label 0 (`seL4_NoError`), else the
    /// error with its details read through `mr(i)` (message register i).
    pub fn check(label: Word, mr: impl Fn(usize) -> Word) -> Result<()> {
        match Self::decode(label, mr) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// The error a reply with `label` reports, or `None` for `seL4_NoError`.
    pub fn decode(label: Word, mr: impl Fn(usize) -> Word) -> Option<Error> {
        Some(match label {
            sys::seL4_NoError => return None,
            sys::seL4_InvalidArgument => Error::InvalidArgument { which: mr(0) },
            sys::seL4_InvalidCapability => Error::InvalidCapability { which: mr(0) },
            sys::seL4_IllegalOperation => Error::IllegalOperation,
            sys::seL4_RangeError => Error::RangeError { min: mr(0), max: mr(1) },
            sys::seL4_AlignmentError => Error::AlignmentError,
            sys::seL4_FailedLookup => Error::FailedLookup {
                source: mr(0) != 0,
                failure: match mr(1) {
                    sys::seL4_InvalidRoot => LookupFailure::InvalidRoot,
                    sys::seL4_MissingCapability => LookupFailure::MissingCapability { bits_left: mr(2) },
                    sys::seL4_DepthMismatch => LookupFailure::DepthMismatch { bits_left: mr(2), bits_found: mr(3) },
                    sys::seL4_GuardMismatch => {
                        LookupFailure::GuardMismatch { bits_left: mr(2), guard_found: mr(3), bits_found: mr(4) }
                    }
                    kind => LookupFailure::Unknown { kind },
                },
            },
            sys::seL4_TruncatedMessage => Error::TruncatedMessage,
            sys::seL4_DeleteFirst => Error::DeleteFirst,
            sys::seL4_RevokeFirst => Error::RevokeFirst,
            sys::seL4_NotEnoughMemory => Error::NotEnoughMemory { bytes_available: mr(0) },
            label => Error::Unknown { label },
        })
    }

    /// The `seL4_Error` number (the error reply's label); for
    /// [`Error::Unknown`] the label as received.
    pub const fn code(&self) -> Word {
        match self {
            Error::InvalidArgument { .. } => sys::seL4_InvalidArgument,
            Error::InvalidCapability { .. } => sys::seL4_InvalidCapability,
            Error::IllegalOperation => sys::seL4_IllegalOperation,
            Error::RangeError { .. } => sys::seL4_RangeError,
            Error::AlignmentError => sys::seL4_AlignmentError,
            Error::FailedLookup { .. } => sys::seL4_FailedLookup,
            Error::TruncatedMessage => sys::seL4_TruncatedMessage,
            Error::DeleteFirst => sys::seL4_DeleteFirst,
            Error::RevokeFirst => sys::seL4_RevokeFirst,
            Error::NotEnoughMemory { .. } => sys::seL4_NotEnoughMemory,
            Error::Unknown { label } => *label,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { which } => write!(f, "invalid argument {which}"),
            Error::InvalidCapability { which } => write!(f, "invalid capability argument {which}"),
            Error::IllegalOperation => write!(f, "illegal operation"),
            Error::RangeError { min, max } => write!(f, "argument out of range {min}..={max}"),
            Error::AlignmentError => write!(f, "alignment error"),
            Error::FailedLookup { source: true, failure } => write!(f, "source lookup failed: {failure}"),
            Error::FailedLookup { source: false, failure } => write!(f, "lookup failed: {failure}"),
            Error::TruncatedMessage => write!(f, "message too short for the invocation"),
            Error::DeleteFirst => write!(f, "destination slot not empty (delete first)"),
            Error::RevokeFirst => write!(f, "cap has derived caps (revoke first)"),
            Error::NotEnoughMemory { bytes_available } => {
                write!(f, "not enough memory ({bytes_available} bytes available)")
            }
            Error::Unknown { label } => write!(f, "error reply with unknown label {label}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    fn mrs(v: &[Word]) -> impl Fn(usize) -> Word + '_ {
        move |i| v.get(i).copied().unwrap_or(0xdead)
    }

    #[test]
    fn no_error_is_ok() {
        assert_eq!(Error::check(sys::seL4_NoError, mrs(&[])), Ok(()));
    }

    fn failed(v: &[Word]) -> (Word, Vec<Word>) {
        (sys::seL4_FailedLookup, v.to_vec())
    }

    #[test]
    fn decodes_details_of_each_error() {
        use sys::*;
        let cases: [((Word, Vec<Word>), Error); 13] = [
            ((seL4_InvalidArgument, [2].into()), Error::InvalidArgument { which: 2 }),
            ((seL4_InvalidCapability, [1].into()), Error::InvalidCapability { which: 1 }),
            ((seL4_IllegalOperation, [].into()), Error::IllegalOperation),
            ((seL4_RangeError, [0, 61].into()), Error::RangeError { min: 0, max: 61 }),
            ((seL4_AlignmentError, [].into()), Error::AlignmentError),
            (
                failed(&[0, seL4_MissingCapability, 30]),
                Error::FailedLookup { source: false, failure: LookupFailure::MissingCapability { bits_left: 30 } },
            ),
            (failed(&[1, seL4_InvalidRoot]), Error::FailedLookup { source: true, failure: LookupFailure::InvalidRoot }),
            (
                failed(&[0, seL4_DepthMismatch, 10, 12]),
                Error::FailedLookup {
                    source: false,
                    failure: LookupFailure::DepthMismatch { bits_left: 10, bits_found: 12 },
                },
            ),
            (
                failed(&[0, seL4_GuardMismatch, 64, 5, 48]),
                Error::FailedLookup {
                    source: false,
                    failure: LookupFailure::GuardMismatch { bits_left: 64, guard_found: 5, bits_found: 48 },
                },
            ),
            ((seL4_TruncatedMessage, [].into()), Error::TruncatedMessage),
            ((seL4_DeleteFirst, [].into()), Error::DeleteFirst),
            ((seL4_RevokeFirst, [].into()), Error::RevokeFirst),
            ((seL4_NotEnoughMemory, [0x800].into()), Error::NotEnoughMemory { bytes_available: 0x800 }),
        ];
        let mut codes: Vec<Word> = Vec::new();
        for ((label, v), want) in cases {
            let got = Error::check(label, mrs(&v)).unwrap_err();
            assert_eq!(got, want);
            assert_eq!(got.code(), label);
            if let Error::FailedLookup { failure, .. } = got {
                assert_eq!(failure.code(), v[1]);
            }
            assert!(!got.to_string().is_empty());
            codes.push(label);
        }
        // Every seL4_Error but seL4_NoError has a variant, each its own code.
        codes.dedup();
        assert_eq!(codes.len() as Word, seL4_NumErrors - 1);
    }

    #[test]
    fn unknown_codes_are_kept() {
        assert_eq!(Error::check(sys::seL4_NumErrors, mrs(&[])), Err(Error::Unknown { label: sys::seL4_NumErrors }));
        let kind = sys::seL4_GuardMismatch + 1;
        assert_eq!(
            Error::check(sys::seL4_FailedLookup, mrs(&[0, kind])),
            Err(Error::FailedLookup { source: false, failure: LookupFailure::Unknown { kind } })
        );
    }

    #[test]
    fn messages_name_the_details() {
        assert_eq!(
            Error::NotEnoughMemory { bytes_available: 1024 }.to_string(),
            "not enough memory (1024 bytes available)"
        );
        assert_eq!(Error::RangeError { min: 1, max: 256 }.to_string(), "argument out of range 1..=256");
        let guard = LookupFailure::GuardMismatch { bits_left: 64, guard_found: 5, bits_found: 48 };
        assert_eq!(
            Error::FailedLookup { source: true, failure: guard }.to_string(),
            "source lookup failed: guard mismatch: 64 bits left, the CNode's guard is 0x5 of 48 bits"
        );
    }
}
