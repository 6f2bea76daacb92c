//! What the words of a successful reply mean, per request: core builds its reply from one of
//! these types and the client reads it back with the same type, checking every word.

use crate::field::Handle;
use crate::layout::FRAME_BITS;
use crate::limits::{PAGE_SIZE, VADDR_LIMIT};
use crate::reply::Words;

/// A successful reply's words, typed.
pub trait Answer: Sized {
    fn to_words(&self) -> Words;
    /// The answer, if `words` are one: exactly its number of words, each in range.
    fn from_words(words: &[u64]) -> Option<Self>;
}

/// Success without result words: the reply to a request that creates nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Done;

impl Answer for Done {
    fn to_words(&self) -> Words {
        Words::EMPTY
    }

    fn from_words(words: &[u64]) -> Option<Done> {
        words.is_empty().then_some(Done)
    }
}

/// Reply to [`crate::Label::Open`]: `[session]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OpenReply {
    pub session: Handle,
}

impl Answer for OpenReply {
    fn to_words(&self) -> Words {
        words(&[self.session.to_word()])
    }

    fn from_words(words: &[u64]) -> Option<OpenReply> {
        match *words {
            [session] => Some(OpenReply { session: Handle::from_word(session)? }),
            _ => None,
        }
    }
}

/// Reply to [`crate::Label::RamAlloc`]: `[dataspace, paddr, frame_bits]`. `frame_bits` is log2
/// of the dataspace's largest frame: with `paddr` and the size it gives the frame list
/// ([`crate::layout::frames`]), and a virtual address to map it at must be congruent to `paddr`
/// modulo 2^frame_bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RamAllocReply {
    pub dataspace: Handle,
    pub paddr: u64,
    pub frame_bits: u8,
}

impl Answer for RamAllocReply {
    fn to_words(&self) -> Words {
        words(&[self.dataspace.to_word(), self.paddr, self.frame_bits as u64])
    }

    fn from_words(words: &[u64]) -> Option<RamAllocReply> {
        match *words {
            [dataspace, paddr, frame_bits] => Some(RamAllocReply {
                dataspace: Handle::from_word(dataspace)?,
                paddr: Some(paddr).filter(|p| p % PAGE_SIZE == 0)?,
                frame_bits: FRAME_BITS.into_iter().find(|&b| b as u64 == frame_bits)?,
            }),
            _ => None,
        }
    }
}

/// Reply to [`crate::Label::CnodeCreate`]: `[cnode]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CnodeCreateReply {
    pub cnode: Handle,
}

impl Answer for CnodeCreateReply {
    fn to_words(&self) -> Words {
        words(&[self.cnode.to_word()])
    }

    fn from_words(words: &[u64]) -> Option<CnodeCreateReply> {
        match *words {
            [cnode] => Some(CnodeCreateReply { cnode: Handle::from_word(cnode)? }),
            _ => None,
        }
    }
}

/// Reply to [`crate::Label::TcbCreate`]: `[thread, ipc_buffer]`, the virtual address (page
/// aligned, below 2^47) where core mapped the thread's IPC buffer; the thread needs it, e.g. as
/// its GS base like the first thread.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TcbCreateReply {
    pub thread: Handle,
    pub ipc_buffer: u64,
}

impl Answer for TcbCreateReply {
    fn to_words(&self) -> Words {
        words(&[self.thread.to_word(), self.ipc_buffer])
    }

    fn from_words(words: &[u64]) -> Option<TcbCreateReply> {
        match *words {
            [thread, ipc_buffer] => Some(TcbCreateReply {
                thread: Handle::from_word(thread)?,
                ipc_buffer: Some(ipc_buffer).filter(|a| a % PAGE_SIZE == 0 && *a < VADDR_LIMIT)?,
            }),
            _ => None,
        }
    }
}

/// Reply to [`crate::Label::Usage`]: `[ram_quota, ram_used, cap_quota | caps_used << 32]`;
/// what is used never exceeds the quota.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UsageReply {
    pub ram_quota: u64,
    pub ram_used: u64,
    pub cap_quota: u32,
    pub caps_used: u32,
}

impl Answer for UsageReply {
    fn to_words(&self) -> Words {
        words(&[self.ram_quota, self.ram_used, self.cap_quota as u64 | (self.caps_used as u64) << 32])
    }

    fn from_words(words: &[u64]) -> Option<UsageReply> {
        match *words {
            [ram_quota, ram_used, caps] => {
                Some(UsageReply { ram_quota, ram_used, cap_quota: caps as u32, caps_used: (caps >> 32) as u32 })
                    .filter(|u| u.ram_used <= u.ram_quota && u.caps_used <= u.cap_quota)
            }
            _ => None,
        }
    }
}

/// Words of at most [`crate::MAX_WORDS`] (every answer here has fewer).
fn words(w: &[u64]) -> Words {
    Words::new(w).unwrap_or(Words::EMPTY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Reply;
    use proptest::prelude::*;

    fn round_trips<A: Answer + PartialEq + core::fmt::Debug>(a: A) -> Result<(), TestCaseError> {
        let (label, w, n) = Reply::Ok(a.to_words()).encode();
        let back = Reply::decode(label, &w[..n]).ok().and_then(|r| r.into_result().ok());
        prop_assert_eq!(back.and_then(|w| A::from_words(w.as_slice())), Some(a));
        Ok(())
    }

    #[test]
    fn out_of_range_words_are_no_answer() {
        assert_eq!(Done::from_words(&[0]), None);
        assert_eq!(OpenReply::from_words(&[1 << 32]), None);
        assert_eq!(OpenReply::from_words(&[1, 2]), None);
        assert_eq!(RamAllocReply::from_words(&[1, 0x1800, 12]), None);
        assert_eq!(RamAllocReply::from_words(&[1, 0x1000, 13]), None);
        assert_eq!(RamAllocReply::from_words(&[1, 0x1000]), None);
        assert_eq!(CnodeCreateReply::from_words(&[]), None);
        assert_eq!(UsageReply::from_words(&[10, 11, 0]), None);
        assert_eq!(UsageReply::from_words(&[10, 10, 1 | 2 << 32]), None);
        assert_eq!(
            UsageReply::from_words(&[10, 9, 2 | 1 << 32]),
            Some(UsageReply { ram_quota: 10, ram_used: 9, cap_quota: 2, caps_used: 1 })
        );
        assert_eq!(TcbCreateReply::from_words(&[1, 1 << 47]), None);
        assert_eq!(TcbCreateReply::from_words(&[1, 0x10]), None);
        assert_eq!(
            TcbCreateReply::from_words(&[1, 0x1000]),
            Some(TcbCreateReply { thread: Handle(1), ipc_buffer: 0x1000 })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_answer_round_trips_through_a_reply(
            handle in any::<u32>(),
            page in 0u64..(1 << 52),
            vpage in 0u64..(1 << 35),
            frame_bits in proptest::sample::select(FRAME_BITS.to_vec()),
        ) {
            round_trips(Done)?;
            round_trips(OpenReply { session: Handle(handle) })?;
            round_trips(RamAllocReply { dataspace: Handle(handle), paddr: page << 12, frame_bits })?;
            round_trips(CnodeCreateReply { cnode: Handle(handle) })?;
            round_trips(TcbCreateReply { thread: Handle(handle), ipc_buffer: vpage << 12 })?;
            let (quota, caps) = (page, handle);
            round_trips(UsageReply { ram_quota: quota, ram_used: quota / 2, cap_quota: caps, caps_used: caps / 3 })?;
        }
    }
}

/// Reply to [`crate::Label::Channel`]: `[flags, shared_at, shared_size]`: what the child's end
/// of the channel has, and its shared dataspace's address in the child and size (zero when it
/// has none).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ChannelReply {
    /// The child calls the peer (it is the channel's client, with a cap at `abi::call_slot`).
    pub calls: bool,
    /// The peer calls the child (it serves the channel on `abi::RECEIVE_ENDPOINT`).
    pub serves: bool,
    /// Either end may signal the other (a cap at `abi::notify_slot`).
    pub notify: bool,
    /// The id is an interrupt's, not a channel's: its signals are the interrupt, which the
    /// child acks with [`Request::Ack`](crate::Request::Ack).
    pub irq: bool,
    pub shared_at: u64,
    pub shared_size: u64,
}

const CALLS: u64 = 1;
const SERVES: u64 = 2;
const NOTIFY: u64 = 4;
const IRQ: u64 = 8;

impl Answer for ChannelReply {
    fn to_words(&self) -> Words {
        let flags = (self.calls as u64 * CALLS)
            | (self.serves as u64 * SERVES)
            | (self.notify as u64 * NOTIFY)
            | (self.irq as u64 * IRQ);
        words(&[flags, self.shared_at, self.shared_size])
    }

    fn from_words(words: &[u64]) -> Option<ChannelReply> {
        match *words {
            [flags, shared_at, shared_size]
                if flags & !(CALLS | SERVES | NOTIFY | IRQ) == 0
                    && flags & (CALLS | SERVES) != CALLS | SERVES
                    && shared_at.is_multiple_of(PAGE_SIZE)
                    && shared_size.is_multiple_of(PAGE_SIZE)
                    && shared_at.checked_add(shared_size).is_some_and(|end| end <= VADDR_LIMIT) =>
            {
                Some(ChannelReply {
                    calls: flags & CALLS != 0,
                    serves: flags & SERVES != 0,
                    notify: flags & NOTIFY != 0,
                    irq: flags & IRQ != 0,
                    shared_at,
                    shared_size,
                })
            }
            _ => None,
        }
    }
}

/// Reply to [`crate::Label::Device`]: `[a, b, c]`: for I/O ports the first and last port and
/// the slot of their cap; for device memory its physical address, its size and its address in
/// the child.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeviceReply {
    pub a: u64,
    pub b: u64,
    pub c: u64,
}

impl Answer for DeviceReply {
    fn to_words(&self) -> Words {
        words(&[self.a, self.b, self.c])
    }

    fn from_words(words: &[u64]) -> Option<DeviceReply> {
        match *words {
            [a, b, c] => Some(DeviceReply { a, b, c }),
            _ => None,
        }
    }
}
