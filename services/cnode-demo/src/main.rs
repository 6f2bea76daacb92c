//! cnode-demo: opens a CNode session with core, has it create a CNode of 16 slots in slot 20
//! of its own CNode, sees a second one refused in the same slot and a destroyed one's handle
//! refused as stale, creates one there again, and closes the session.
#![no_std]
#![no_main]

use core::fmt;

use sel4_core_protocol::{CnodeSession, ErrorCode, SessionError};
use sel4_runtime::{declare_main, println, Core};

declare_main!(main);

const SLOT: u64 = 20;

enum Error {
    Session(&'static str, SessionError),
    Expected { what: &'static str, wanted: ErrorCode, got: Result<(), SessionError> },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Session(what, e) => write!(f, "{what}: {e}"),
            Error::Expected { what, wanted, got: Ok(()) } => write!(f, "{what}: wanted {wanted}, got success"),
            Error::Expected { what, wanted, got: Err(e) } => write!(f, "{what}: wanted {wanted}, got {e}"),
        }
    }
}

fn s<T>(what: &'static str, r: Result<T, SessionError>) -> Result<T, Error> {
    r.map_err(|e| Error::Session(what, e))
}

/// `r` must be the refusal `wanted`.
fn refused<T>(what: &'static str, wanted: ErrorCode, r: Result<T, SessionError>) -> Result<(), Error> {
    match r {
        Err(e) if e.code() == Some(wanted) => {
            println!("cnode-demo: {what}: refused with {wanted}, as it must be");
            Ok(())
        }
        Err(e) => Err(Error::Expected { what, wanted, got: Err(e) }),
        Ok(_) => Err(Error::Expected { what, wanted, got: Ok(()) }),
    }
}

fn main(_: usize) -> Result<(), Error> {
    let t = &mut Core;
    let cnodes = s("open", CnodeSession::open(t, 64 << 10, 8))?;
    let first = s("create", cnodes.create(t, 4, SLOT))?;
    println!("cnode-demo: a CNode of 2^4 slots in slot {SLOT}");
    refused("a second CNode in the same slot", ErrorCode::InvalidArgument, cnodes.create(t, 4, SLOT))?;
    s("destroy", cnodes.destroy(t, first))?;
    refused("destroying it again", ErrorCode::InvalidHandle, cnodes.destroy(t, first))?;
    let again = s("create again", cnodes.create(t, 4, SLOT))?;
    println!("cnode-demo: slot {SLOT} is free again after destroy: a new CNode there");
    s("destroy", cnodes.destroy(t, again))?;
    s("close", cnodes.close(t))?;
    println!("cnode-demo: closed");
    Ok(())
}
