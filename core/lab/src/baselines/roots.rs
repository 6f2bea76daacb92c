//! The boot untypeds ("roots") sorted by address, with a mirror of each
//! root's FreeIndex: the baselines that retype straight from a root need to
//! know where the kernel will place the next object.

use sel4_core::kernel::{Slot, UntypedDesc};

/// One root untyped and the kernel state the baselines mirror.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Root {
    pub slot: Slot,
    pub paddr: u64,
    pub size_bits: u8,
    pub is_device: bool,
    /// Live caps retyped from this root.
    pub children: u32,
    /// FreeIndex (bytes from `paddr`) after the last retype; it only
    /// counts while `children > 0` (src/object/untyped.c:decodeUntypedInvocation
    /// starts from 0 when `ensureNoChildren` succeeds).
    pub watermark: u64,
}

impl Root {
    pub const EMPTY: Root = Root { slot: Slot(0), paddr: 0, size_bits: 0, is_device: false, children: 0, watermark: 0 };

    pub fn size(&self) -> u64 {
        1u64 << self.size_bits
    }

    /// One past the last byte, saturated at `u64::MAX` for a root at the
    /// top of the address space.
    pub fn end(&self) -> u64 {
        self.paddr.saturating_add(self.size())
    }

    /// Offset where the kernel puts the next object of `2^bits` bytes: the
    /// effective FreeIndex rounded up to the object's size
    /// (src/object/untyped.c:decodeUntypedInvocation, `alignUp(freeRef, objectSize)`).
    pub fn next_offset(&self, bits: u8) -> u64 {
        let w = if self.children == 0 { 0 } else { self.watermark };
        let a = 1u64 << bits;
        (w + a - 1) & !(a - 1)
    }

    /// Record a successful retype of `count` objects of `2^bits` at `offset`.
    pub fn note_retype(&mut self, offset: u64, bits: u8, count: u32) {
        self.watermark = offset + (u64::from(count) << bits);
        self.children += count;
    }
}

/// Roots sorted by physical address.
pub struct Roots<'s> {
    r: &'s mut [Root],
}

impl<'s> Roots<'s> {
    /// Copy `boot` into `storage` (which must be at least as long) and sort
    /// it; `None` if the storage is too small or two roots overlap.
    pub fn new(storage: &'s mut [Root], boot: &[UntypedDesc]) -> Option<Self> {
        let r = storage.get_mut(..boot.len())?;
        for (d, b) in r.iter_mut().zip(boot) {
            *d = Root { slot: b.slot, paddr: b.paddr, size_bits: b.size_bits, is_device: b.is_device, ..Root::EMPTY };
        }
        r.sort_unstable_by_key(|x| x.paddr);
        if r.windows(2).any(|w| w[0].end() > w[1].paddr) {
            return None;
        }
        Some(Roots { r })
    }

    pub fn all(&self) -> &[Root] {
        self.r
    }

    pub fn get_mut(&mut self, i: usize) -> &mut Root {
        &mut self.r[i]
    }

    /// Index of the root that holds all of `[addr, addr + size)`.
    pub fn find(&self, addr: u64, size: u64) -> Option<usize> {
        let i = self.r.partition_point(|x| x.paddr <= addr).checked_sub(1)?;
        let x = &self.r[i];
        (addr.checked_add(size)? <= x.end()).then_some(i)
    }
}
