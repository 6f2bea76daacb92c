//! Which frames a dataspace is made of. Core builds a dataspace of `size` bytes at `paddr` from
//! the largest frames that fit, in address order, and hands their caps to consecutive slots; the
//! client computes the same list from the RAM allocation reply to know how many slots it needs
//! and how a virtual address must be aligned to map it.

use crate::limits::{HUGE_PAGE_BITS, LARGE_PAGE_BITS, PAGE_BITS};

/// Frame sizes (log2 bytes), largest first.
pub const FRAME_BITS: [u8; 3] = [HUGE_PAGE_BITS, LARGE_PAGE_BITS, PAGE_BITS];

/// One frame of a dataspace.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub paddr: u64,
    pub size_bits: u8,
}

/// The frames of a dataspace, in address order: at each address the largest frame (at most
/// `2^max_bits` bytes) that is naturally aligned there and ends within the dataspace.
#[derive(Clone, Debug)]
pub struct Frames {
    next: u64,
    end: u64,
    max_bits: u8,
}

/// The frames of `size` bytes at `paddr`, using frames of at most `2^max_bits` bytes.
///
/// Empty unless `paddr` and `size` are multiples of 4 KiB, the range does not wrap around, and
/// `max_bits` is one of [`FRAME_BITS`]: no frame list describes anything else.
pub fn frames(paddr: u64, size: u64, max_bits: u8) -> Frames {
    let page = (1u64 << PAGE_BITS) - 1;
    match paddr.checked_add(size) {
        Some(end) if paddr & page == 0 && size & page == 0 && FRAME_BITS.contains(&max_bits) => {
            Frames { next: paddr, end, max_bits }
        }
        _ => Frames { next: 0, end: 0, max_bits: PAGE_BITS },
    }
}

impl Iterator for Frames {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        let left = self.end - self.next;
        let size_bits = FRAME_BITS
            .into_iter()
            .filter(|&b| b <= self.max_bits)
            .find(|&b| self.next & ((1u64 << b) - 1) == 0 && left >= 1u64 << b)?;
        let frame = Frame { paddr: self.next, size_bits };
        self.next += 1u64 << size_bits;
        Some(frame)
    }
}

/// A run of a dataspace's frames: 2^`count_log2` frames of 2^`frame_bits` bytes from `paddr`
/// on, a naturally aligned block core retypes from one untyped in one invocation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub paddr: u64,
    pub frame_bits: u8,
    pub count_log2: u8,
}

impl Run {
    pub fn bytes(&self) -> u64 {
        1u64 << (self.frame_bits + self.count_log2)
    }

    pub fn frames(&self) -> u64 {
        1u64 << self.count_log2
    }
}

/// The runs of the dataspace of `size` bytes at `paddr` (frames of at most `2^max_bits`
/// bytes), in address order: at each address the largest naturally aligned block that ends
/// within the dataspace, of at most `2^max_count_log2` frames. Their frames are exactly
/// [`frames`]' (the same frame at every address). Empty where [`frames`] is.
pub fn runs(paddr: u64, size: u64, max_bits: u8, max_count_log2: u8) -> impl Iterator<Item = Run> {
    let frames = frames(paddr, size, max_bits);
    let (mut next, end) = (frames.next, frames.end);
    core::iter::from_fn(move || {
        if next >= end {
            return None;
        }
        let left = end - next;
        let block = (next.trailing_zeros() as u8).min(63 - left.leading_zeros() as u8);
        let frame_bits = FRAME_BITS.into_iter().find(|&b| b <= max_bits && b <= block)?;
        let run = Run { paddr: next, frame_bits, count_log2: (block - frame_bits).min(max_count_log2) };
        next += run.bytes();
        Some(run)
    })
}

/// log2 of the largest frame of the dataspace, which is also the alignment a virtual address it
/// is mapped at must share with `paddr` (each frame is mapped naturally aligned); `None` for an
/// empty list.
pub fn largest_frame_bits(paddr: u64, size: u64, max_bits: u8) -> Option<u8> {
    frames(paddr, size, max_bits).map(|f| f.size_bits).max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K: u64 = 1 << 10;
    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;

    fn list(paddr: u64, size: u64, max_bits: u8) -> Vec<(u64, u8)> {
        frames(paddr, size, max_bits).map(|f| (f.paddr, f.size_bits)).collect()
    }

    #[test]
    fn largest_frames_that_fit_in_address_order() {
        assert_eq!(list(0x1000, 4 * K, 30), [(0x1000, 12)]);
        assert_eq!(list(2 * M - 4 * K, 2 * M + 8 * K, 30), [(2 * M - 4 * K, 12), (2 * M, 21), (4 * M, 12)]);
        assert_eq!(list(G, G + 2 * M, 30), [(G, 30), (2 * G, 21)]);
        assert_eq!(list(G, G, 21).len(), 512);
        assert_eq!(largest_frame_bits(G, G + 2 * M, 30), Some(30));
        assert_eq!(largest_frame_bits(G, G + 2 * M, 21), Some(21));
    }

    #[test]
    fn what_no_frame_list_describes_is_empty() {
        assert_eq!(list(0x800, 4 * K, 30), []);
        assert_eq!(list(0x1000, 0x800, 30), []);
        assert_eq!(list(0x1000, 0, 30), []);
        assert_eq!(list(u64::MAX - 0xfff, 0x2000, 30), []);
        assert_eq!(list(0x1000, 0x1000, 13), []);
        assert_eq!(largest_frame_bits(0x1000, 0, 30), None);
    }

    #[test]
    fn runs_are_aligned_blocks_of_the_same_frames() {
        let r = |paddr, size, max_bits| {
            runs(paddr, size, max_bits, 8).map(|r| (r.paddr, r.frame_bits, r.count_log2)).collect::<Vec<_>>()
        };
        // 516 KiB at 512 KiB alignment: 128 pages, then one.
        assert_eq!(r(512 * K, 516 * K, 30), [(512 * K, 12, 7), (M, 12, 0)]);
        // 3 MiB at 2 MiB: one large frame, then 256 pages.
        assert_eq!(r(2 * M, 3 * M, 30), [(2 * M, 21, 0), (4 * M, 12, 8)]);
        // 1 GiB of large frames is two runs of 256.
        assert_eq!(r(G, G, 21), [(G, 21, 8), (G + 512 * M, 21, 8)]);
        assert_eq!(r(0x800, 4 * K, 30), []);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn runs_hold_the_frames_in_order(
            page in 0u64..(1 << 24),
            pages in 1u64..(1 << 12),
            max_bits in proptest::sample::select(FRAME_BITS.to_vec()),
            max_count_log2 in 0u8..9,
        ) {
            let (paddr, size) = (page << PAGE_BITS, pages << PAGE_BITS);
            let from_runs: Vec<Frame> = runs(paddr, size, max_bits, max_count_log2)
                .inspect(|r| assert_eq!(r.paddr % r.bytes(), 0, "a run is naturally aligned"))
                .flat_map(|r| (0..r.frames()).map(move |i| Frame { paddr: r.paddr + (i << r.frame_bits), size_bits: r.frame_bits }))
                .collect();
            prop_assert_eq!(from_runs, frames(paddr, size, max_bits).collect::<Vec<_>>());
        }

        #[test]
        fn frames_tile_the_dataspace_aligned_and_greedy(
            // Anywhere, or a little below a 1 GiB boundary so that huge frames come up.
            page in prop_oneof![0u64..(1 << 24), (1u64..64, 0u64..1024).prop_map(|(g, o)| (g << 18) - o)],
            pages in 1u64..(1 << 10),
            large_pages in 0u64..(1 << 11),
            max_bits in proptest::sample::select(FRAME_BITS.to_vec()),
        ) {
            // Up to 4 GiB more in 2 MiB steps where frames of at least 2 MiB keep the list short.
            let large = if max_bits >= LARGE_PAGE_BITS { large_pages << LARGE_PAGE_BITS } else { 0 };
            let (paddr, size) = (page << PAGE_BITS, (pages << PAGE_BITS) + large);
            let mut at = paddr;
            for f in frames(paddr, size, max_bits) {
                prop_assert_eq!(f.paddr, at);
                prop_assert!(f.size_bits <= max_bits);
                prop_assert_eq!(f.paddr % (1 << f.size_bits), 0);
                // Greedy: the next larger allowed frame would not have fitted here.
                if let Some(&larger) = FRAME_BITS.iter().rev().find(|&&b| b > f.size_bits && b <= max_bits) {
                    prop_assert!(at % (1 << larger) != 0 || paddr + size - at < 1 << larger);
                }
                at += 1 << f.size_bits;
            }
            prop_assert_eq!(at, paddr + size);
        }
    }
}
