//! The service's heap: the `#[global_allocator]` of every service, over dataspaces the runtime
//! allocates from core and maps from [`abi::HEAP_BASE`] up. It starts empty; when the allocator
//! runs out it opens a RAM session for one more dataspace (at least as large as the request,
//! and as large as the heap so far, so the heap at least doubles each time: a heap of n bytes
//! took O(log n) sessions), with the quota that dataspace, its records and the paging
//! structures that map it need, so the heap takes from the service's budget only as much as it
//! grew. Each dataspace goes in a 512 GiB region of its own (a PDPT's span), so no session's
//! mapping lies under another's paging structures (core refuses that: closing the other would
//! unmap it). It grows up to the service's `heap=` setting, which core hands over at start
//! (`abi`). Past it an
//! allocation fails: [`failure`] then says what was asked and what was left, and the panic
//! that follows (`alloc::alloc::handle_alloc_error`) ends the service with
//! [`crate::EXIT_ALLOC`].
//!
//! The allocator is `talc`: `no_std`, a constant-time bucketed free list that is fast at any
//! heap size (`run bench` measures it against `linked_list_allocator`, whose first fit walks
//! every free block, and `buddy_system_allocator`), and it can claim new memory from its
//! out-of-memory hook, which is how the heap grows. Threads of one service share it
//! behind the runtime's lock ([`crate::sync`]), so threads that share the heap should share a
//! priority.

use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use sel4_core_protocol::limits::VADDR_BITS;
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

/// The heap's growth: what it holds, and a session per dataspace (its setting is [`limit`]).
pub struct Grow {
    /// Bytes of dataspaces it holds.
    held: u64,
    /// A session per dataspace, kept for the life of the service; the `i`th dataspace lies in
    /// the `i`th region ([`region`]).
    sessions: [Option<RamSession>; MAX_GROWTHS],
}

/// log2 of the span of a region of the heap: a PDPT's (512 GiB).
const REGION_BITS: u32 = 39;

// Every region lies below the threads' IPC region, the last 512 GiB of the address space.
const _: () = assert!(abi::HEAP_BASE + ((MAX_GROWTHS as u64) << REGION_BITS) <= (1 << VADDR_BITS) - (1 << REGION_BITS));

/// Where the `i`th dataspace of the heap goes, at the earliest.
pub fn region(i: usize) -> u64 {
    abi::HEAP_BASE + ((i as u64) << REGION_BITS)
}

/// Times the heap can grow: it at least doubles each time from [`FIRST`], within the
/// processor's virtual address space.
const MAX_GROWTHS: usize = (VADDR_BITS - LARGE_FRAME_BITS + 1) as usize;

/// The allocator (see the module documentation).
#[cfg_attr(not(test), global_allocator)]
static HEAP: Talck<Lock, Grow> = Talc::new(Grow { held: 0, sessions: [None; MAX_GROWTHS] }).lock();

/// The heap's figures: bytes in use by the program, bytes of dataspaces held, the setting.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub allocated: u64,
    pub held: u64,
    pub limit: u64,
    /// Dataspaces taken so far.
    pub grown: u64,
}

/// The size of the allocation that failed last (0: none since the heap last grew).
static FAILED_SIZE: AtomicU64 = AtomicU64::new(0);
static FAILED_LEFT: AtomicU64 = AtomicU64::new(0);
static FAILED_WHY: AtomicU64 = AtomicU64::new(0);

/// Sets the heap's limit (the `heap=` setting core handed over); once, before main.
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn set_limit(limit: u64) {
    LIMIT.store(limit, Relaxed);
}

/// The heap setting: bytes of dataspaces the heap may hold. Kept apart from the heap's lock, so
/// the panic handler (which may run while the lock is held) can read it.
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
        limit: limit(),
        grown: g.sessions.iter().flatten().count() as u64,
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

/// The last allocation that failed, unless the heap grew after it (the panic handler also
/// checks the panic is `alloc`'s).
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
    let need = need(layout)?;
    let left = limit.saturating_sub(held) / PAGE * PAGE;
    if need > left {
        return None;
    }
    let size = need.max(held).max(FIRST).min(left);
    // Whole large frames where the setting allows.
    let large = 1u64 << LARGE_FRAME_BITS;
    Some(if size >= large && size.next_multiple_of(large) <= left { size.next_multiple_of(large) } else { size })
}

/// Bytes a dataspace must have for `layout`: its size with talc's chunk header and the
/// alignment slack, in whole pages.
fn need(layout: Layout) -> Option<u64> {
    Some((layout.size() as u64).checked_add(layout.align() as u64 + 64)?.next_multiple_of(PAGE))
}

/// The next size to try after core refused `size` for want of quota: half of it in whole
/// pages, but not below `need`; `None` when `size` was already that.
pub fn smaller(size: u64, need: u64) -> Option<u64> {
    (size > need).then(|| (size / 2).next_multiple_of(PAGE).max(need))
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

/// The RAM quota of the session for one dataspace of `size` bytes of the heap: the dataspace,
/// core's records of the session, the dataspace and its runs, and the paging structures that
/// map it in a region of its own (a page table per 2 MiB, a page directory per GiB, the PDPT),
/// each with its record.
pub fn session_quota(size: u64) -> u64 {
    let structure = PAGE + charges::OBJECT_RECORD;
    size + charges::SESSION_RECORD
        + charges::HANDLE_RECORD
        + RUNS * charges::OBJECT_RECORD
        + structures(size) * structure
}

/// Paging structures that map `size` bytes at the start of a region: page tables (for pages),
/// page directories and the PDPT.
fn structures(size: u64) -> u64 {
    (size >> LARGE_FRAME_BITS) + 1 + (size >> 30) + 1 + 1
}

/// Runs a dataspace of the heap is made of at most (`layout::runs`: a few of each frame size).
const RUNS: u64 = 8;

/// The cap quota of the session for one dataspace of `size` bytes in frames of 2^`frame_bits`:
/// a slot per frame and per paging structure.
pub fn session_caps(size: u64, frame_bits: u8) -> u32 {
    let frames = size.div_ceil(1 << frame_bits);
    (frames + structures(size)).min(u32::MAX as u64) as u32
}

impl Grow {
    /// Takes a dataspace of `size` bytes from core, in a session of its own, and maps it: its
    /// address. Large frames first where the size allows (a cap slot per 2 MiB), else pages.
    fn take(&mut self, size: u64) -> Result<u64, SessionError> {
        let slot = self.sessions.iter().position(Option::is_none).ok_or(SessionError::Refused(ErrorCode::NoMemory))?;
        let large = LARGE_FRAME_BITS;
        let tries: &[u8] = if size.is_multiple_of(1 << large) { &[large, 12] } else { &[12] };
        let mut last = SessionError::Refused(ErrorCode::NoMemory);
        for &frame_bits in tries {
            let s = RamSession::open(&mut Core, session_quota(size), session_caps(size, frame_bits))?;
            let options = AllocOptions { align_log2: frame_bits, ..AllocOptions::default() };
            let placed = s.alloc(&mut Core, size, options).and_then(|ds| {
                let va = place(region(slot), ds.paddr, ds.frame_bits);
                s.map(&mut Core, ds, va).map(|()| va)
            });
            match placed {
                Ok(va) => {
                    self.sessions[slot] = Some(s);
                    return Ok(va);
                }
                Err(e) => {
                    // Closing the session frees whatever of it was placed.
                    let _ = s.close(&mut Core);
                    last = e;
                }
            }
        }
        Err(last)
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
        let limit = limit();
        let left = limit.saturating_sub(g.held);
        let (Some(mut size), Some(need)) = (next_size(layout, g.held, limit), need(layout)) else {
            return fail(layout, left, Refusal::Setting);
        };
        let va = loop {
            match g.take(size) {
                Ok(va) => break va,
                // What the budget has left (a 4 KiB frame costs a cap slot) may not pay for
                // the doubling: less, down to what the allocation needs.
                Err(e) if matches!(e.code(), Some(ErrorCode::OutOfCapQuota | ErrorCode::OutOfRamQuota)) => {
                    match smaller(size, need) {
                        Some(s) => size = s,
                        None => return fail(layout, left, e.into()),
                    }
                }
                Err(e) => return fail(layout, left, e.into()),
            }
        };
        g.held += size;
        FAILED_SIZE.store(0, Relaxed);
        let span = Span::from_base_size(va as *mut u8, size as usize);
        // SAFETY: core mapped [va, va + size) writable in this address space just now, for
        // as long as the dataspace's session lives (the life of the service); no other part of
        // the program refers to it (the heap's regions are the runtime's, `abi`).
        match unsafe { talc.claim(span) } {
            Ok(_) => Ok(()),
            // Too small for talc's own records: no allocation could use it.
            Err(()) => fail(layout, left, Refusal::Setting),
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
    fn a_session_asks_a_slot_per_frame_and_structure() {
        // A frame, two page tables (one spare), a page directory, a PDPT.
        assert_eq!(session_caps(2 << 20, 21), 1 + 4);
        assert_eq!(session_caps(2 << 20, 12), 512 + 4);
        assert_eq!(session_caps(64 << 20, 21), 32 + 33 + 2);
    }

    #[test]
    fn a_session_pays_for_its_dataspace_records_and_paging() {
        let q = session_quota(64 << 20);
        // 32 page tables of 4 KiB with their records map 64 MiB of 4 KiB frames.
        assert!(q >= (64 << 20) + 32 * (PAGE + charges::OBJECT_RECORD) + charges::SESSION_RECORD);
        assert!(q < (64 << 20) + (1 << 20));
        assert!(session_quota(2 << 20) < (2 << 20) + (32 << 10));
    }

    #[test]
    fn each_dataspace_has_a_region_of_its_own() {
        assert_eq!(region(0), abi::HEAP_BASE);
        assert_eq!(region(1) - region(0), 512 << 30);
        // A dataspace placed in its region stays in it.
        let va = place(region(3), 0x4020_0000, 21);
        assert!(va >= region(3) && va + (64 << 30) <= region(4));
    }

    #[test]
    fn a_refused_growth_halves_down_to_the_need() {
        assert_eq!(smaller(1 << 20, PAGE), Some(512 << 10));
        assert_eq!(smaller(3 * PAGE, 2 * PAGE), Some(2 * PAGE));
        assert_eq!(smaller(2 * PAGE, 2 * PAGE), None);
        let mut size = 1 << 20;
        let mut steps = 0;
        while let Some(s) = smaller(size, PAGE) {
            assert!(s < size && s.is_multiple_of(PAGE));
            size = s;
            steps += 1;
        }
        assert_eq!((size, steps), (PAGE, 8));
    }

    #[test]
    fn the_heap_grows_at_most_as_often_as_it_can_double() {
        let (mut held, limit, mut steps) = (0u64, 1u64 << 47, 0);
        let small = Layout::from_size_align(8, 8).unwrap();
        while let Some(size) = next_size(small, held, limit) {
            held += size;
            steps += 1;
        }
        assert!(steps <= MAX_GROWTHS, "{steps} growths");
    }
}
