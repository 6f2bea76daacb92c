//! Core's answer to a request: label 0 and the result words, or an error code as the label.

/// Why core refused a request. A refused request changed nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum ErrorCode {
    /// Unknown label, or a message longer or shorter than the label takes.
    InvalidRequest = 1,
    /// A field is out of range or inconsistent.
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
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidHandle,
        ErrorCode::OutOfRamQuota,
        ErrorCode::OutOfCapQuota,
        ErrorCode::NoMemory,
        ErrorCode::Denied,
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
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_zero_is_no_error() {
        for e in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_label(e as u64), Some(e));
        }
        assert_eq!(ErrorCode::from_label(0), None);
        assert_eq!(ErrorCode::from_label(8), None);
    }
}
