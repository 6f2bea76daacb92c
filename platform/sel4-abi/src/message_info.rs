//! `seL4_MessageInfo`: the word describing a message (label, caps unwrapped,
//! extra caps, length), laid out as `libsel4/include/sel4/shared_types_64.bf`
//! says ([`crate::layout::seL4_MessageInfo`]).

use crate::layout::seL4_MessageInfo as field;
use crate::{sys, Word};

/// Largest message length in words (`seL4_MsgMaxLength`).
pub const MSG_MAX_LENGTH: usize = sys::seL4_MsgMaxLength as usize;
/// Largest number of extra caps (`seL4_MsgMaxExtraCaps`, defined by libsel4 as
/// `BIT(seL4_MsgExtraCapBits) - 1`).
pub const MSG_MAX_EXTRA_CAPS: usize = (1 << sys::seL4_MsgExtraCapBits) - 1;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct MessageInfo(Word);

impl MessageInfo {
    /// Packs the fields; bits beyond each field's width are dropped, as
    /// `seL4_MessageInfo_new` does.
    pub const fn new(label: Word, caps_unwrapped: usize, extra_caps: usize, length: usize) -> Self {
        let w = field::label.set(0, label);
        let w = field::capsUnwrapped.set(w, caps_unwrapped as Word);
        let w = field::extraCaps.set(w, extra_caps as Word);
        MessageInfo(field::length.set(w, length as Word))
    }

    pub const fn from_word(w: Word) -> Self {
        MessageInfo(w)
    }

    pub const fn into_word(self) -> Word {
        self.0
    }

    pub const fn label(self) -> Word {
        field::label.get(self.0)
    }

    pub const fn caps_unwrapped(self) -> usize {
        field::capsUnwrapped.get(self.0) as usize
    }

    pub const fn extra_caps(self) -> usize {
        field::extraCaps.get(self.0) as usize
    }

    pub const fn length(self) -> usize {
        field::length.get(self.0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use field::{capsUnwrapped, extraCaps, label, length};

    #[test]
    fn fields_match_the_limits() {
        // The fields hold every length and extra-cap count a message may have.
        assert!(length.fits(MSG_MAX_LENGTH as Word));
        assert_eq!(extraCaps.bits as u64, sys::seL4_MsgExtraCapBits);
        assert_eq!(length.bits as u64, sys::seL4_MsgLengthBits);
        assert_eq!(MessageInfo::new(0, 0, 0, 1).into_word(), 1 << length.offset);
    }

    #[test]
    fn round_trip_over_every_field_value() {
        for l in [0, 1, 2, 47, 0x1234, label.max()] {
            for cu in 0..=capsUnwrapped.max() as usize {
                for ec in 0..=extraCaps.max() as usize {
                    for len in [0, 1, 4, 5, 64, MSG_MAX_LENGTH - 1, MSG_MAX_LENGTH, length.max() as usize] {
                        let m = MessageInfo::from_word(MessageInfo::new(l, cu, ec, len).into_word());
                        assert_eq!((m.label(), m.caps_unwrapped(), m.extra_caps(), m.length()), (l, cu, ec, len));
                    }
                }
            }
        }
    }

    #[test]
    fn oversized_fields_do_not_spill_into_neighbours() {
        let over = |f: crate::bitfield::Field, v: Word| (f.max() + 1) | v;
        let m = MessageInfo::new(
            over(label, 5),
            over(capsUnwrapped, 1) as usize,
            over(extraCaps, 2) as usize,
            over(length, 3) as usize,
        );
        assert_eq!((m.label(), m.caps_unwrapped(), m.extra_caps(), m.length()), (5, 1, 2, 3));
        let all = label.max() << label.offset
            | capsUnwrapped.max() << capsUnwrapped.offset
            | extraCaps.max() << extraCaps.offset
            | length.max() << length.offset;
        assert_eq!(m.into_word() & !all, 0);
    }
}
