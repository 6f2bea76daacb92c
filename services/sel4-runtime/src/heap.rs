//! The service's heap: the `#[global_allocator]` of every service, over dataspaces the runtime
//! allocates through a RAM session of its own and maps from [`abi::HEAP_BASE`] up. It starts
//! empty; when the allocator runs out it asks core for another dataspace (at least as large as
//! the request, and as large as the heap so far, so a heap of n bytes took O(log n) requests),
//! up to the service's `heap=` setting, which core hands over at start (`abi`). Past it an
//! allocation fails: [`failure`] then says what was asked and what was left, and the panic
//! that follows (`alloc::alloc::handle_alloc_error`) ends the service with
//! [`crate::EXIT_ALLOC`].
//!
//! The allocator is `talc`: `no_std`, a constant-time bucketed free list that is fast at any
//! heap size (`run bench` measures it against `linked_list_allocator`, whose first fit walks
//! every free block, and `dlmalloc`), and it can claim new memory or extend a heap in place
//! from its out-of-memory hook, which is how the heap grows. Threads of one service share it
//! behind the runtime's lock ([`crate::sync`]), so threads that share the heap should share a
//! priority.

use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sel4_core_protocol::session::AllocOptions;
use sel4_core_protocol::{abi, charges, ErrorCode, RamSession, SessionError};
use talc::{OomHandler, Span, Talc, Talck};

use crate::Core;

/// The first dataspace the heap takes (unless its setting is smaller), and the frame size
/// it asks for where a dataspace is a multiple of it: core charges a cap slot per frame, so a
/// heap of 2 MiB frames costs a slot per 2 MiB instead of 512.
const FIRST: u64 = 2 << 20;
const LARGE_FRAME_BITS: u8 = 21;
const PAGE: u64 = 4096;

type Lock = crate::sync::Mutex<()>;

/// The heap's growth: its setting, what it holds, and where the next dataspace goes.
pub struct Grow {
    /// The `heap=` setting: bytes of dataspaces the heap may hold.
    limit: u64,
    /// Bytes of dataspaces it holds.
    held: u64,
    /// The lowest address no dataspace of the heap covers yet.
    next: u64,
    /// The heap talc manages that ends at `next` (empty before the first), to extend in place.
    last: Span,
    session: Option<RamSession>,
}

/// The allocator (see the module documentation).
#[cfg_attr(not(test), global_allocator)]
static HEAP: Talck<Lock, Grow> =
    Talc::new(Grow { limit: 0, held: 0, next: abi::HEAP_BASE, last: Span::empty(), session: None }).lock();

/// The heap's figures: bytes in use by the program, bytes of dataspaces held, the setting.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub allocated: u64,
    pub held: u64,
    pub limit: u64,
    /// Dataspaces taken so far.
    pub grown: u64,
}

static GROWN: AtomicU64 = AtomicU64::new(0);
/// The size of the allocation that failed last (0: none since the last success).
static FAILED_SIZE: AtomicU64 = AtomicU64::new(0);
static FAILED_LEFT: AtomicU64 = AtomicU64::new(0);
static FAILED_WHY: AtomicU64 = AtomicU64::new(0);

/// Sets the heap's limit (the `heap=` setting core handed over); once, before main.
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn set_limit(limit: u64) {
    LIMIT.store(limit, Relaxed);
    HEAP.lock().oom_handler.limit = limit;
}

/// The heap setting, without waiting for the heap's lock (for the panic handler, which may
/// run while the lock is held).
pub fn limit() -> u64 {
    LIMIT.load(Relaxed)
}

static LIMIT: AtomicU64 = AtomicU64::new(0);

/// The heap's figures now.
pub fn stats() -> Stats {
    let talc = HEAP.lock();
    let g = &talc.oom_handler;
    Stats {
        allocated: talc.get_counters().allocated_bytes as u64,
        held: g.held,
        limit: g.limit,
        grown: GROWN.load(Relaxed),
    }
}

/// Why the heap could not grow.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The `heap=` setting leaves too little.
    Setting,
    /// Core refused the session or a dataspace (the service's budget, or core's memory).
    Core(ErrorCode),
    /// Core's answer was no answer.
    Malformed,
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::Setting => f.write_str("the heap setting leaves too little"),
            Refusal::Core(code) => write!(f, "core refused more memory ({code:?})"),
            Refusal::Malformed => f.write_str("core's answer was malformed"),
        }
    }
}

/// An allocation the heap could not serve: its size, what the setting had left, and why.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub size: u64,
    pub left: u64,
    pub why: Refusal,
}

/// `FAILED_WHY` for a refusal.
const WHY_SETTING: u64 = u64::MAX;
const WHY_MALFORMED: u64 = u64::MAX - 1;

/// The last allocation that failed, unless one succeeded after it.
pub fn failure() -> Option<Failure> {
    let size = FAILED_SIZE.load(Relaxed);
    (size != 0).then(|| Failure {
        size,
        left: FAILED_LEFT.load(Relaxed),
        why: match FAILED_WHY.load(Relaxed) {
            WHY_SETTING => Refusal::Setting,
            code => {
                ErrorCode::ALL.iter().find(|c| **c as u64 == code).map_or(Refusal::Malformed, |c| Refusal::Core(*c))
            }
        },
    })
}

/// The bytes of the next dataspace for an allocation of `layout` when the heap holds `held` of
/// `limit` bytes: at least what the allocation needs with talc's overhead, and as much as the
/// heap holds already, in whole pages, within the setting; `None` when the setting leaves too
/// little.
pub fn next_size(layout: Layout, held: u64, limit: u64) -> Option<u64> {
    // talc's chunk header and the alignment slack.
    let need = (layout.size() as u64).checked_add(layout.align() as u64 + 64)?.next_multiple_of(PAGE);
    let left = limit.saturating_sub(held) / PAGE * PAGE;
    if need > left {
        return None;
    }
    let size = need.max(held).max(FIRST).min(left);
    // Whole large frames where the setting allows.
    let large = 1u64 << LARGE_FRAME_BITS;
    Some(if size >= large && size.next_multiple_of(large) <= left { size.next_multiple_of(large) } else { size })
}

/// Where a dataspace at `paddr` of frames of 2^`frame_bits` bytes goes at or above `next`: the
/// kernel maps a frame only at a virtual address aligned as its physical one.
pub fn place(next: u64, paddr: u64, frame_bits: u8) -> u64 {
    let align = 1u64 << frame_bits;
    let offset = paddr & (align - 1);
    let base = next & !(align - 1);
    if base + offset >= next {
        base + offset
    } else {
        base + align + offset
    }
}

/// The RAM quota of the heap's session for a heap of `limit` bytes: the dataspaces, their
/// records, and the paging structures that map them (a page table of 4 KiB per 2 MiB mapped,
/// with its record, is under 1/256 of what it maps; 1/64 leaves room for the directories
/// above and the records of each run).
pub fn session_quota(limit: u64) -> u64 {
    limit
        + limit / 64
        + charges::SESSION_RECORD
        + 64 * (charges::HANDLE_RECORD + 4 * charges::OBJECT_RECORD)
        + 16 * PAGE
}

/// The cap quota the heap's session asks for a heap of `limit` bytes: a slot per frame (2 MiB
/// frames past the first dataspaces, 4 KiB ones below) and per paging structure. A service
/// whose cap budget has less gets what it has left, in halves (`Grow::open`).
pub fn session_caps(limit: u64) -> u32 {
    let small = (limit.min(FIRST) / PAGE) as u32;
    let large = (limit >> LARGE_FRAME_BITS) as u32;
    small.saturating_add(large.saturating_mul(2)).saturating_add(16)
}

impl Grow {
    /// Opens the heap's session: RAM for the whole setting, and as many cap slots of those it
    /// asks (`session_caps`) as the service's cap budget has, in halves down to a few.
    fn open(limit: u64) -> Result<RamSession, SessionError> {
        let mut caps = session_caps(limit);
        loop {
            match RamSession::open(&mut Core, session_quota(limit), caps) {
                Err(SessionError::Refused(ErrorCode::OutOfCapQuota)) if caps > 4 => caps /= 2,
                other => return other,
            }
        }
    }

    /// Takes a dataspace of `size` bytes from core and maps it: its address range.
    fn take(&mut self, size: u64) -> Result<(u64, u64), SessionError> {
        let session = match self.session {
            Some(s) => s,
            None => {
                let s = Self::open(self.limit)?;
                self.session = Some(s);
                s
            }
        };
        let large = LARGE_FRAME_BITS;
        let ds = match size % (1 << large) {
            0 => session
                .alloc(&mut Core, size, AllocOptions { align_log2: large, ..AllocOptions::default() })
                .or_else(|_| session.alloc(&mut Core, size, AllocOptions::default()))?,
            _ => session.alloc(&mut Core, size, AllocOptions::default())?,
        };
        let va = place(self.next, ds.paddr, ds.frame_bits);
        if let Err(e) = session.map(&mut Core, ds, va) {
            let _ = session.free(&mut Core, ds);
            return Err(e);
        }
        Ok((va, size))
    }
}

fn fail(layout: Layout, left: u64, why: Refusal) -> Result<(), ()> {
    FAILED_SIZE.store(layout.size().max(1) as u64, Relaxed);
    FAILED_LEFT.store(left, Relaxed);
    FAILED_WHY.store(
        match why {
            Refusal::Setting => WHY_SETTING,
            Refusal::Core(code) => code as u64,
            Refusal::Malformed => WHY_MALFORMED,
        },
        Relaxed,
    );
    Err(())
}

impl From<SessionError> for Refusal {
    fn from(e: SessionError) -> Refusal {
        e.code().map_or(Refusal::Malformed, Refusal::Core)
    }
}

impl OomHandler for Grow {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let g = &mut talc.oom_handler;
        let left = g.limit.saturating_sub(g.held);
        let Some(size) = next_size(layout, g.held, g.limit) else {
            return fail(layout, left, Refusal::Setting);
        };
        let (va, size) = match g.take(size) {
            Ok(taken) => taken,
            Err(e) => return fail(layout, left, e.into()),
        };
        g.held += size;
        GROWN.fetch_add(1, Relaxed);
        FAILED_SIZE.store(0, Relaxed);
        let contiguous = va == g.next && !g.last.is_empty();
        g.next = va + size;
        let last = g.last;
        let span = Span::from_base_size(va as *mut u8, size as usize);
        // SAFETY: core mapped [va, va + size) writable in this address space just now, for
        // as long as the heap's session holds the dataspace (the life of the service); no other
        // part of the program refers to it (the heap region is the runtime's, `abi`); it is
        // right above `last` when `contiguous`, so the extended heap covers only mapped memory.
        let heap = unsafe {
            if contiguous {
                let base = last.get_base_acme().map_or(va as *mut u8, |(b, _)| b);
                Some(talc.extend(last, Span::new(base, (va + size) as *mut u8)))
            } else {
                talc.claim(span).ok()
            }
        };
        match heap {
            Some(h) => {
                talc.oom_handler.last = h;
                Ok(())
            }
            None => fail(layout, left, Refusal::Setting),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_what_it_holds_within_the_setting() {
        let small = Layout::from_size_align(100, 8).unwrap();
        assert_eq!(next_size(small, 0, 1 << 20), Some(1 << 20), "a setting below the first");
        assert_eq!(next_size(small, 0, 64 << 20), Some(FIRST));
        assert_eq!(next_size(small, 4 << 20, 16 << 20), Some(4 << 20), "doubles");
        assert_eq!(next_size(small, 12 << 20, 16 << 20), Some(4 << 20), "up to the setting");
        assert_eq!(next_size(small, 12 << 20, (15 << 20) + PAGE), Some((3 << 20) + PAGE), "the rest");
        let big = Layout::from_size_align(3 << 20, 16).unwrap();
        assert_eq!(next_size(big, 2 << 20, 16 << 20), Some(4 << 20), "what it needs, in large frames");
        assert_eq!(next_size(big, 2 << 20, (5 << 20) + PAGE), Some((3 << 20) + PAGE), "what it needs");
        assert_eq!(next_size(big, 14 << 20, 16 << 20), None, "past the setting");
        assert_eq!(next_size(small, 0, 0), None, "no heap");
        let huge = Layout::from_size_align(isize::MAX as usize - 7, 8).unwrap();
        assert_eq!(next_size(huge, 0, 1 << 40), None);
    }

    #[test]
    fn places_frames_at_addresses_aligned_as_their_memory() {
        assert_eq!(place(abi::HEAP_BASE, 0x1234_5000, 12), abi::HEAP_BASE);
        let two_m = 1u64 << 21;
        let next = abi::HEAP_BASE + 0x1000;
        let va = place(next, 0x4020_0000, 21);
        assert!(va >= next && va % two_m == 0x4020_0000 % two_m, "{va:#x}");
        let va = place(next, 0x4030_0000, 20);
        assert!(va >= next && va.is_multiple_of(1 << 20));
        // A physical offset within the frame size is kept.
        assert_eq!(place(abi::HEAP_BASE, 0x1000, 21), abi::HEAP_BASE + 0x1000);
    }

    #[test]
    fn the_session_asks_a_slot_per_frame() {
        assert_eq!(session_caps(1 << 20), 256 + 16);
        assert_eq!(session_caps(64 << 20), 512 + 64 + 16);
    }

    #[test]
    fn the_session_pays_for_records_and_paging() {
        let q = session_quota(64 << 20);
        // 32 page tables of 4 KiB with their records map 64 MiB of 4 KiB frames.
        assert!(q >= (64 << 20) + 32 * (PAGE + charges::OBJECT_RECORD) + charges::SESSION_RECORD);
        assert!(q < (64 << 20) + (2 << 20));
    }
}
