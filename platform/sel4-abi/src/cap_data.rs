//! The cap data word for a CNode cap, which `CNode_Mint`, `CNode_Mutate` and
//! `TCB_Configure` take to set the new cap's guard: guard size and guard, laid
//! out as `include/object/structures_64.bf:cnode_capdata` (libsel4 calls the
//! same word `seL4_CapData_Guard`) and decoded by
//! `src/object/objecttype.c:updateCapData`.

use crate::layout::cnode_capdata;
use crate::{Word, WORD_BITS};

/// A guard and its size in bits, as one cap data word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CNodeCapData(Word);

impl CNodeCapData {
    /// The guard `guard` of `guard_size` bits, or `None` if the size does not
    /// fit the guardSize field or the guard has bits above `guard_size` or
    /// beyond the guard field (the kernel would cut them off:
    /// `updateCapData` masks the guard to the guard size).
    pub const fn new(guard: Word, guard_size: u8) -> Option<Self> {
        let size = guard_size as Word;
        if !cnode_capdata::guardSize.fits(size) || !cnode_capdata::guard.fits(guard) {
            return None;
        }
        if size < WORD_BITS as Word && guard >> size != 0 {
            return None;
        }
        Some(CNodeCapData(cnode_capdata::guard.set(cnode_capdata::guardSize.set(0, size), guard)))
    }

    /// A guard of `guard_size` zero bits: a lookup through the cap consumes
    /// that many leading bits of the address, which must be zero
    /// (`src/kernel/cspace.c:resolveAddressBits`).
    pub const fn skip(guard_size: u8) -> Option<Self> {
        Self::new(0, guard_size)
    }

    /// The word as the kernel receives it.
    pub const fn into_word(self) -> Word {
        self.0
    }

    /// A word as the kernel would read it (bits outside the fields are ignored).
    pub const fn from_word(word: Word) -> Self {
        CNodeCapData(word)
    }

    /// The guard size the kernel takes from the word.
    pub const fn guard_size(self) -> u8 {
        cnode_capdata::guardSize.get(self.0) as u8
    }

    /// The guard the kernel takes from the word: the guard field cut to the
    /// guard size (`updateCapData`).
    pub const fn guard(self) -> Word {
        let size = self.guard_size() as u32;
        let g = cnode_capdata::guard.get(self.0);
        if size >= Word::BITS {
            g
        } else {
            g & ((1 << size) - 1)
        }
    }

    /// Whether the kernel accepts this guard on a CNode of 2^`radix` slots:
    /// guard size plus radix must not exceed the word, else `updateCapData`
    /// makes a null cap.
    pub const fn fits_radix(self, radix: u8) -> bool {
        self.guard_size() as u32 + radix as u32 <= WORD_BITS as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let max_size = cnode_capdata::guardSize.max() as u8;
        for size in [0, 1, 17, 43, max_size] {
            let d = CNodeCapData::skip(size).unwrap();
            assert_eq!((d.guard_size(), d.guard()), (size, 0));
            assert_eq!(CNodeCapData::from_word(d.into_word()), d);
        }
        let d = CNodeCapData::new(0b101, 3).unwrap();
        assert_eq!((d.guard(), d.guard_size()), (0b101, 3));
        assert_eq!(CNodeCapData::skip(0).unwrap().into_word(), 0);
    }

    #[test]
    fn values_the_kernel_would_cut_are_refused() {
        let max_size = cnode_capdata::guardSize.max() as u8;
        assert_eq!(CNodeCapData::skip(max_size + 1), None);
        assert_eq!(CNodeCapData::new(0b1000, 3), None, "guard wider than its size");
        assert_eq!(CNodeCapData::new(cnode_capdata::guard.max() + 1, max_size), None, "guard wider than its field");
        // A guard word with stray bits above the size reads as the kernel cuts it.
        let w = cnode_capdata::guard.set(cnode_capdata::guardSize.set(0, 2), 0b111);
        assert_eq!(CNodeCapData::from_word(w).guard(), 0b11);
    }

    #[test]
    fn radix_and_guard_share_the_word() {
        let d = CNodeCapData::skip(WORD_BITS - 16).unwrap();
        assert!(d.fits_radix(16));
        assert!(!d.fits_radix(17));
    }
}
