//! sel4-core-system: the system description the run tool hands core, in postcard's compact
//! binary format: every service core starts from its boot image, with its quotas and ELF.
//! Decoding borrows names and ELF images from the blob (no copy; the list of services is the
//! one allocation, `no_std` + `alloc`); any byte string decodes to a [`System`] or a
//! [`DecodeError`], never a panic. Feature `std` adds the encoder.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

/// Bytes a service takes at least in the encoding (a byte for each of its seven fields): a
/// count of services beyond the bytes there are is refused before anything is allocated.
const MIN_SERVICE_BYTES: usize = 7;

/// One service core starts: its ELF image and what it may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service<'a> {
    /// The service's name (its binary's name), for core's log.
    pub name: &'a str,
    /// RAM quota in bytes.
    pub ram: u64,
    /// Cap quota: capability slots the service may have.
    pub caps: u32,
    /// Priority of its first thread.
    pub prio: u8,
    /// Bytes of its first thread's stack.
    pub stack: u64,
    /// Bytes of dataspaces its heap may take from its budget (the runtime's limit; core hands
    /// it over at start, `sel4_core_protocol::abi`).
    pub heap: u64,
    /// The static ELF image, as built.
    pub elf: &'a [u8],
}

/// Every service of a system, in start order (a service's index is its position).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct System<'a> {
    #[serde(borrow)]
    pub services: Vec<Service<'a>>,
}

/// Why bytes are no system description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The description lists more services than its bytes can hold.
    TooManyServices { count: u64, bytes: usize },
    /// The bytes are not a postcard-encoded system.
    Malformed(postcard::Error),
    /// The description ends before the bytes do.
    TrailingBytes { count: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooManyServices { count, bytes } => {
                write!(f, "system description lists {count} services in {bytes} bytes, more than they can hold")
            }
            DecodeError::Malformed(e) => write!(f, "malformed system description: {e}"),
            DecodeError::TrailingBytes { count } => {
                write!(f, "system description is followed by {count} unexpected bytes")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

impl<'a> System<'a> {
    /// The system `bytes` describe. Empty bytes are a system without services (what core's
    /// image holds when it was built without one).
    pub fn decode(bytes: &'a [u8]) -> Result<System<'a>, DecodeError> {
        if bytes.is_empty() {
            return Ok(System::default());
        }
        // The count leads the encoding; checking it first names the problem instead of
        // serde's generic length error.
        if let Ok((count, _)) = postcard::take_from_bytes::<u64>(bytes) {
            if count > (bytes.len() / MIN_SERVICE_BYTES) as u64 {
                return Err(DecodeError::TooManyServices { count, bytes: bytes.len() });
            }
        }
        let (system, rest) = postcard::take_from_bytes::<System>(bytes).map_err(DecodeError::Malformed)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes { count: rest.len() });
        }
        Ok(system)
    }

    /// The encoded description, as [`System::decode`] reads it.
    #[cfg(feature = "std")]
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        postcard::to_stdvec(self).map_err(EncodeError)
    }
}

/// Why a system could not be encoded.
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError(postcard::Error);

#[cfg(feature = "std")]
impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode the system description: {}", self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests;
