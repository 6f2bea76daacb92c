//! sel4-core-protocol: what core and its children say to each other, shared by both sides
//! (`no_std`, tested on the host). [`abi`] is how core starts a child (where its caps are,
//! what its registers hold); [`request`] is every request a child sends core over its endpoint,
//! as a message label and at most [`MAX_WORDS`] message words, so that a request carrying no
//! cap takes the kernel's fastpath; [`reply`] is core's answer and [`answer`] what its words
//! mean per request. [`field`] and [`limits`] are the values requests carry and the kernel's
//! numbers they are checked against; [`layout`] is which frames a dataspace is made of;
//! [`charges`] is what core charges a session's quotas.
//! [`client`] and [`session`] are the child's side: typed RAM, CNode and TCB sessions over any
//! [`client::Transport`], and raw messages for scripts.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod abi;
pub mod answer;
pub mod charges;
pub mod client;
pub mod field;
pub mod layout;
pub mod limits;
pub mod reply;
pub mod request;
pub mod session;

pub use client::{SessionError, Transport};
pub use field::{CacheAttr, Handle, PhysRange, SessionKind};
pub use reply::{ErrorCode, Reply};
pub use request::{DeviceKind, Label, Request};
pub use session::{CnodeSession, RamSession, TcbSession};

/// Message words a request or a reply uses at most (the kernel's fastpath carries 4).
pub const MAX_WORDS: usize = 4;
