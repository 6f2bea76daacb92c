//! How a child calls core. A [`Transport`] carries one message to core and brings back the
//! reply (seL4 Call on the endpoint at run time, a fake core in host tests); [`call`] sends a
//! request and reads its typed answer; [`raw`] sends any label and words, so that a script can
//! check how core answers messages the typed sessions never build.

use core::fmt;

use crate::answer::{Answer, Done, OpenReply, UsageReply};
use crate::field::{Handle, SessionKind};
use crate::reply::{ErrorCode, MalformedReply, Reply};
use crate::request::Request;
use crate::MAX_WORDS;

/// One round trip to core.
pub trait Transport {
    /// Sends exactly `label` and `words` and waits for the reply: its label, its first
    /// [`MAX_WORDS`] words, and its length as the kernel reported it (above [`MAX_WORDS`] if core
    /// sent more, which makes it malformed).
    fn call(&mut self, label: u64, words: &[u64]) -> (u64, [u64; MAX_WORDS], usize);
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn call(&mut self, label: u64, words: &[u64]) -> (u64, [u64; MAX_WORDS], usize) {
        (**self).call(label, words)
    }
}

/// Why a session call failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// Core refused the request and changed nothing.
    Refused(ErrorCode),
    /// Core's reply is no reply, or not the answer to this request.
    MalformedReply(MalformedReply),
}

impl SessionError {
    /// Core's error code, if core refused.
    pub fn code(self) -> Option<ErrorCode> {
        match self {
            SessionError::Refused(e) => Some(e),
            SessionError::MalformedReply(_) => None,
        }
    }
}

impl From<ErrorCode> for SessionError {
    fn from(e: ErrorCode) -> SessionError {
        SessionError::Refused(e)
    }
}

impl From<MalformedReply> for SessionError {
    fn from(m: MalformedReply) -> SessionError {
        SessionError::MalformedReply(m)
    }
}

/// A refusal prints as the error code's name alone, which scripts match.
impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Refused(e) => e.fmt(f),
            SessionError::MalformedReply(m) => m.fmt(f),
        }
    }
}

/// Sends `label` and `words` as they are and decodes what comes back.
pub fn raw<T: Transport + ?Sized>(t: &mut T, label: u64, words: &[u64]) -> Result<Reply, MalformedReply> {
    let (label, w, len) = t.call(label, words);
    match w.get(..len) {
        Some(words) => Reply::decode(label, words),
        None => Err(MalformedReply { label, len }),
    }
}

/// Sends `request` and reads core's answer to it as `A`.
pub fn call<A: Answer, T: Transport + ?Sized>(t: &mut T, request: &Request) -> Result<A, SessionError> {
    let (label, w, n) = request.encode();
    let words = raw(t, label, &w[..n])?.into_result()?;
    A::from_words(words.as_slice())
        .ok_or(SessionError::MalformedReply(MalformedReply { label: 0, len: words.as_slice().len() }))
}

/// Opens a session of `kind`, moving the quotas from the child's budget to it.
pub fn open<T: Transport + ?Sized>(
    t: &mut T,
    kind: SessionKind,
    ram_quota: u64,
    cap_quota: u32,
) -> Result<Handle, SessionError> {
    call::<OpenReply, T>(t, &Request::Open { kind, ram_quota, cap_quota }).map(|r| r.session)
}

/// What a session of any kind is charged and what its quotas are.
pub fn usage<T: Transport + ?Sized>(t: &mut T, session: Handle) -> Result<UsageReply, SessionError> {
    call::<UsageReply, T>(t, &Request::Usage { session })
}

/// Closes a session of any kind: its objects go and what is left of its quota moves back.
pub fn close<T: Transport + ?Sized>(t: &mut T, session: Handle) -> Result<(), SessionError> {
    call::<Done, T>(t, &Request::Close { session }).map(|Done| ())
}
