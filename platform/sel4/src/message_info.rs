//! `seL4_MessageInfo`: the word in RSI describing a message
//! (`libsel4/include/sel4/shared_types_64.bf`: label 20 bits, capsUnwrapped 3,
//! extraCaps 2, length 7, from the top of the low 32 bits down).

use crate::{sys, Word};

const LENGTH_BITS: u32 = sys::seL4_MsgLengthBits as u32;
const EXTRA_CAPS_BITS: u32 = sys::seL4_MsgExtraCapBits as u32;
const CAPS_UNWRAPPED_BITS: u32 = 3;
const LABEL_BITS: u32 = 20;

const EXTRA_CAPS_SHIFT: u32 = LENGTH_BITS;
const CAPS_UNWRAPPED_SHIFT: u32 = EXTRA_CAPS_SHIFT + EXTRA_CAPS_BITS;
const LABEL_SHIFT: u32 = CAPS_UNWRAPPED_SHIFT + CAPS_UNWRAPPED_BITS;

const fn mask(bits: u32) -> Word {
    (1 << bits) - 1
}

/// Largest message length in words (`seL4_MsgMaxLength`).
pub const MSG_MAX_LENGTH: usize = sys::seL4_MsgMaxLength as usize;
/// Largest number of extra caps (`seL4_MsgMaxExtraCaps`).
pub const MSG_MAX_EXTRA_CAPS: usize = (1 << EXTRA_CAPS_BITS) - 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MessageInfo(Word);

impl MessageInfo {
    /// Packs the fields; bits beyond each field's width are dropped, as
    /// `seL4_MessageInfo_new` does.
    pub const fn new(label: Word, caps_unwrapped: usize, extra_caps: usize, length: usize) -> Self {
        MessageInfo(
            (label & mask(LABEL_BITS)) << LABEL_SHIFT
                | (caps_unwrapped as Word & mask(CAPS_UNWRAPPED_BITS)) << CAPS_UNWRAPPED_SHIFT
                | (extra_caps as Word & mask(EXTRA_CAPS_BITS)) << EXTRA_CAPS_SHIFT
                | (length as Word & mask(LENGTH_BITS)),
        )
    }

    pub const fn from_word(w: Word) -> Self {
        MessageInfo(w)
    }

    pub const fn into_word(self) -> Word {
        self.0
    }

    pub const fn label(self) -> Word {
        (self.0 >> LABEL_SHIFT) & mask(LABEL_BITS)
    }

    pub const fn caps_unwrapped(self) -> usize {
        ((self.0 >> CAPS_UNWRAPPED_SHIFT) & mask(CAPS_UNWRAPPED_BITS)) as usize
    }

    pub const fn extra_caps(self) -> usize {
        ((self.0 >> EXTRA_CAPS_SHIFT) & mask(EXTRA_CAPS_BITS)) as usize
    }

    pub const fn length(self) -> usize {
        (self.0 & mask(LENGTH_BITS)) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_bitfield() {
        assert_eq!(MessageInfo::new(1, 0, 1, 6).into_word(), 1 << 12 | 1 << 7 | 6);
        assert_eq!(MessageInfo::new(0xfffff, 7, 3, 127).into_word(), 0xffff_ffff);
        assert_eq!(MSG_MAX_LENGTH, 120);
        assert_eq!(MSG_MAX_EXTRA_CAPS, 3);
    }

    #[test]
    fn round_trip_over_every_field_value() {
        for label in [0, 1, 2, 47, 0x1234, 0xfffff] {
            for cu in 0..8 {
                for ec in 0..4 {
                    for len in [0, 1, 4, 5, 64, 119, 120, 127] {
                        let m = MessageInfo::from_word(MessageInfo::new(label, cu, ec, len).into_word());
                        assert_eq!((m.label(), m.caps_unwrapped(), m.extra_caps(), m.length()), (label, cu, ec, len));
                    }
                }
            }
        }
    }

    #[test]
    fn oversized_fields_do_not_spill_into_neighbours() {
        let m = MessageInfo::new(1 << 20 | 5, 8 | 1, 4 | 2, 128 | 3);
        assert_eq!((m.label(), m.caps_unwrapped(), m.extra_caps(), m.length()), (5, 1, 2, 3));
        assert_eq!(m.into_word() >> 32, 0);
    }
}
