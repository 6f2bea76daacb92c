//! The typed values requests and replies carry besides plain numbers: handles, session kinds,
//! cache attributes and physical ranges, each with its wire value.

use core::fmt;

use crate::limits::PAGE_BITS;

/// A name core hands out for a session or for an object in one (dataspace, CNode, thread).
///
/// Opaque to clients: core packs a table index and a generation into it, so that a handle that
/// was freed, closed or destroyed, or one of another session or kind, is refused with
/// [`crate::ErrorCode::InvalidHandle`] rather than naming something else. The protocol only
/// carries it (32 bits, so that two fit in one message word).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Handle(pub u32);

impl Handle {
    /// The handle a whole message word carries: the upper 32 bits must be zero.
    pub fn from_word(word: u64) -> Option<Handle> {
        u32::try_from(word).ok().map(Handle)
    }

    pub fn to_word(self) -> u64 {
        self.0 as u64
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// What a session serves. Values start at 1 so that a zeroed word is no kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SessionKind {
    /// Dataspaces of physical memory.
    Ram = 1,
    /// CNodes.
    Cnode = 2,
    /// Threads in the client's protection domain.
    Tcb = 3,
}

impl SessionKind {
    pub const ALL: [SessionKind; 3] = [SessionKind::Ram, SessionKind::Cnode, SessionKind::Tcb];

    pub fn from_word(word: u64) -> Option<SessionKind> {
        Self::ALL.into_iter().find(|k| *k as u64 == word)
    }

    /// The name scripts and logs use.
    pub fn name(self) -> &'static str {
        match self {
            SessionKind::Ram => "Ram",
            SessionKind::Cnode => "Cnode",
            SessionKind::Tcb => "Tcb",
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the CPU caches a dataspace's memory wherever it is mapped (x86 PAT types the kernel can
/// set on a mapping).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CacheAttr {
    /// Write-back: ordinary memory.
    #[default]
    Cached = 0,
    /// Writes combine in a buffer and reads are uncached: frame buffers.
    WriteCombining = 1,
    /// Every access goes to memory: device-visible buffers.
    Uncached = 2,
}

impl CacheAttr {
    pub const ALL: [CacheAttr; 3] = [CacheAttr::Cached, CacheAttr::WriteCombining, CacheAttr::Uncached];

    pub fn from_word(word: u64) -> Option<CacheAttr> {
        Self::ALL.into_iter().find(|c| *c as u64 == word)
    }

    /// The name scripts and logs use.
    pub fn name(self) -> &'static str {
        match self {
            CacheAttr::Cached => "cached",
            CacheAttr::WriteCombining => "write-combining",
            CacheAttr::Uncached => "uncached",
        }
    }
}

impl fmt::Display for CacheAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Physical addresses `lo..hi` (`hi` excluded) a whole dataspace must lie in, e.g. below 4 GiB
/// for a device that addresses 32 bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhysRange {
    pub lo: u64,
    pub hi: u64,
}

impl PhysRange {
    /// The lowest address in the range at which `size` bytes aligned to 2^align_log2 (and to a
    /// page) lie wholly in it, if any.
    pub fn lowest_fit(&self, size: u64, align_log2: u8) -> Option<u64> {
        let align = 1u64.checked_shl(align_log2.max(PAGE_BITS) as u32)?;
        let start = self.lo.checked_next_multiple_of(align)?;
        (start.checked_add(size)? <= self.hi).then_some(start)
    }

    /// Whether `size` bytes at `paddr` lie within the range.
    pub fn contains(&self, paddr: u64, size: u64) -> bool {
        paddr >= self.lo && paddr.checked_add(size).is_some_and(|end| end <= self.hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_others_are_none() {
        for k in SessionKind::ALL {
            assert_eq!(SessionKind::from_word(k as u64), Some(k));
        }
        for c in CacheAttr::ALL {
            assert_eq!(CacheAttr::from_word(c as u64), Some(c));
        }
        assert_eq!(SessionKind::from_word(0), None);
        assert_eq!(SessionKind::from_word(4), None);
        assert_eq!(CacheAttr::from_word(3), None);
        assert_eq!(CacheAttr::from_word(1 << 40), None);
        assert_eq!(Handle::from_word(0xffff_ffff), Some(Handle(0xffff_ffff)));
        assert_eq!(Handle::from_word(1 << 32), None);
    }

    #[test]
    fn a_range_contains_what_ends_at_its_end_and_nothing_that_overflows() {
        let r = PhysRange { lo: 0x1000, hi: 0x3000 };
        assert!(r.contains(0x1000, 0x2000));
        assert!(r.contains(0x2000, 0x1000));
        assert!(!r.contains(0x0, 0x2000));
        assert!(!r.contains(0x2000, 0x2000));
        assert!(!PhysRange { lo: 0, hi: u64::MAX }.contains(u64::MAX - 0xfff, 0x2000));
    }

    #[test]
    fn the_lowest_fit_is_page_and_align_aligned_and_inside() {
        let r = PhysRange { lo: 0x1234, hi: 0x10_0000 };
        assert_eq!(r.lowest_fit(0x1000, 0), Some(0x2000));
        assert_eq!(r.lowest_fit(0x1000, 16), Some(0x1_0000));
        assert_eq!(r.lowest_fit(0xf_0000, 16), Some(0x1_0000));
        assert_eq!(r.lowest_fit(0xf_1000, 16), None);
        assert_eq!(r.lowest_fit(0x1000, 20), None);
        assert_eq!(PhysRange { lo: 1, hi: u64::MAX }.lowest_fit(0x1000, 63), Some(1 << 63));
        assert_eq!(PhysRange { lo: (1 << 63) + 1, hi: u64::MAX }.lowest_fit(0x1000, 63), None);
        assert_eq!(r.lowest_fit(0x1000, 64), None);
        assert_eq!(PhysRange { lo: u64::MAX - 0xfff, hi: u64::MAX }.lowest_fit(0x1000, 0), None);
    }
}
