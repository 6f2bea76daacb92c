//! A field of one of the kernel's bitfield words: the layouts of [`crate::layout`]
//! are generated from the kernel's `.bf` files, and the accessors behave as
//! the functions `tools/bitfield_gen.py` generates from them (a value wider
//! than the field is cut to its width).

use crate::Word;

/// Bits `offset .. offset + bits` of a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    pub offset: u32,
    pub bits: u32,
}

impl Field {
    pub const fn new(offset: u32, bits: u32) -> Self {
        assert!(bits > 0 && offset + bits <= Word::BITS, "field outside the word");
        Field { offset, bits }
    }

    /// The largest value the field holds.
    pub const fn max(self) -> Word {
        if self.bits == Word::BITS {
            Word::MAX
        } else {
            (1 << self.bits) - 1
        }
    }

    /// Whether `v` fits in the field without being cut.
    pub const fn fits(self, v: Word) -> bool {
        v <= self.max()
    }

    /// The field's value in `word`.
    pub const fn get(self, word: Word) -> Word {
        (word >> self.offset) & self.max()
    }

    /// `word` with the field set to `v` cut to the field's width.
    pub const fn set(self, word: Word, v: Word) -> Word {
        let mask = self.max() << self.offset;
        (word & !mask) | ((v << self.offset) & mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_set_stay_inside_the_field() {
        let f = Field::new(8, 18);
        assert_eq!(f.max(), (1 << 18) - 1);
        assert_eq!(f.set(0, f.max()), f.max() << 8);
        assert_eq!(f.set(Word::MAX, 0), !(f.max() << 8));
        assert_eq!(f.get(f.set(0xff, 0x1234)), 0x1234);
        assert_eq!(f.set(0, 1 << 18), 0, "a value too wide is cut");
        assert!(f.fits(f.max()) && !f.fits(f.max() + 1));
        let whole = Field::new(0, 64);
        assert_eq!((whole.max(), whole.get(Word::MAX), whole.set(0, 5)), (Word::MAX, Word::MAX, 5));
    }
}
