//! `seL4_Error` with its detail words, decoded from an error reply
//! (label = error code, MRs = details as written by
//! `src/object/tcb.c:setMRs_syscall_error` and `src/api/faults.c:setMRs_lookup_failure`).

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

    /// The `seL4_Error` code.
    pub fn code(&self) -> Word {
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

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mrs(v: &[Word]) -> impl Fn(usize) -> Word + '_ {
        move |i| v.get(i).copied().unwrap_or(0xdead)
    }

    #[test]
    fn no_error_is_ok() {
        assert_eq!(Error::check(0, mrs(&[])), Ok(()));
    }

    #[test]
    fn decodes_details_of_each_error() {
        let cases: [(Word, &[Word], Error); 11] = [
            (1, &[2], Error::InvalidArgument { which: 2 }),
            (2, &[1], Error::InvalidCapability { which: 1 }),
            (3, &[], Error::IllegalOperation),
            (4, &[0, 61], Error::RangeError { min: 0, max: 61 }),
            (5, &[], Error::AlignmentError),
            (
                6,
                &[0, 2, 30],
                Error::FailedLookup { source: false, failure: LookupFailure::MissingCapability { bits_left: 30 } },
            ),
            (6, &[1, 1], Error::FailedLookup { source: true, failure: LookupFailure::InvalidRoot }),
            (
                6,
                &[0, 3, 10, 12],
                Error::FailedLookup {
                    source: false,
                    failure: LookupFailure::DepthMismatch { bits_left: 10, bits_found: 12 },
                },
            ),
            (
                6,
                &[0, 4, 64, 5, 48],
                Error::FailedLookup {
                    source: false,
                    failure: LookupFailure::GuardMismatch { bits_left: 64, guard_found: 5, bits_found: 48 },
                },
            ),
            (8, &[], Error::DeleteFirst),
            (10, &[0x800], Error::NotEnoughMemory { bytes_available: 0x800 }),
        ];
        for (label, v, want) in cases {
            let got = Error::check(label, mrs(v)).unwrap_err();
            assert_eq!(got, want);
            assert_eq!(got.code(), label);
        }
        assert_eq!(Error::check(7, mrs(&[])), Err(Error::TruncatedMessage));
        assert_eq!(Error::check(9, mrs(&[])), Err(Error::RevokeFirst));
    }

    #[test]
    fn unknown_codes_are_kept() {
        assert_eq!(Error::check(11, mrs(&[])), Err(Error::Unknown { label: 11 }));
        assert_eq!(
            Error::check(6, mrs(&[0, 9])),
            Err(Error::FailedLookup { source: false, failure: LookupFailure::Unknown { kind: 9 } })
        );
    }
}
