//! What core charges a session's quotas, so that a client can compute the cost of a request
//! before it sends it (and a script can ask for an exact fit):
//! - RAM: [`SESSION_RECORD`] bytes from the moment the session opens (core's record of the
//!   session); [`HANDLE_RECORD`] bytes for each dataspace, CNode and thread it holds (core's
//!   record of each thing a handle names); and for each object core places for the session
//!   the object's own size plus [`OBJECT_RECORD`] bytes (its place in its record and the
//!   allocator metadata core provisions per object). Objects are: a run of a dataspace's
//!   frames (a naturally aligned block of frames core makes with one retype,
//!   `layout::runs`), each paging structure its mappings need, a CNode, a thread's TCB and its
//!   IPC buffer;
//! - caps: one slot of core's CSpace per object (per frame of a run), and one slot of the
//!   client's CNode per cap core puts there (a CNode's, each frame cap of a dataspace handed
//!   over).
//!
//! Nothing else limits how many sessions a child opens or how many dataspaces, CNodes and
//! threads a session holds. Core checks at build time that its records fit these charges.

/// Bytes a session is charged while it is open.
pub const SESSION_RECORD: u64 = 512;
/// Bytes each dataspace, CNode and thread is charged for its record while it lives.
pub const HANDLE_RECORD: u64 = 256;
/// Bytes each object of a session is charged besides its own size.
pub const OBJECT_RECORD: u64 = 256;
/// Cap slots each object of a session is charged (its cap in core's CSpace).
pub const OBJECT_CAP_SLOTS: u32 = 1;
