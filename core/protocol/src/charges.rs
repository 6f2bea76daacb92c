//! What core charges a session's quotas, so that a client can compute the cost of a request
//! before it sends it (and a script can ask for an exact fit):
//! - RAM: [`SESSION_RECORD`] bytes from the moment the session opens (core's record of the
//!   session, one block of its slab), and for each object core places for the session (a
//!   dataspace's frames, the paging structures its mappings need, CNodes, a thread's TCB and
//!   IPC buffer) the object's own size plus [`OBJECT_RECORD`] bytes (core's record of the
//!   object in the session and the allocator metadata core provisions per object);
//! - caps: one slot of core's CSpace per object, and one slot of the client's CNode per cap
//!   core puts there (a CNode's, each frame cap of a dataspace handed over).
//!
//! Core checks at build time that its records fit these blocks.

/// Bytes a session is charged while it is open.
pub const SESSION_RECORD: u64 = 8 << 10;
/// Bytes each object of a session is charged besides its own size.
pub const OBJECT_RECORD: u64 = 256;
/// Cap slots each object of a session is charged (its cap in core's CSpace).
pub const OBJECT_CAP_SLOTS: u32 = 1;

/// What one session's record holds at most (beyond that: `OutOfRecords`): objects (frames,
/// paging structures, CNodes, TCBs, IPC buffers), dataspaces, CNodes and threads; and the
/// sessions one child holds at once.
pub const MAX_OBJECTS: usize = 128;
pub const MAX_DATASPACES: usize = 32;
pub const MAX_CNODES: usize = 16;
pub const MAX_THREADS: usize = 8;
pub const MAX_SESSIONS: usize = 4;
